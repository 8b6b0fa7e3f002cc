# Shared by scripts/stack-up.sh and scripts/cluster-up.sh, which source it: the settings both stacks read, start(),
# and everything after Temporal (AWS emulator, registry, env file, seed, workers). Both stacks keep one contract:
# STACK_DIR/env for deployctl and tests, STACK_DIR/pids ("pid name" lines) for scripts/stack-down.sh.

# The AWS SDK is pinned to a release that supports Node 20; its notice about Node 22 is known (README).
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stack=${STACK_DIR:-$root/.stack}
bin=$root/.tools/venv/bin
temporal_port=${STACK_TEMPORAL_PORT:-7233}
ui_port=${STACK_UI_PORT:-8233}
moto_port=${STACK_MOTO_PORT:-4566}
registry_port=${STACK_REGISTRY_PORT:-5055}
issuer_port=${STACK_ISSUER_PORT:-4455}
step_ms=${STACK_ROLLOUT_STEP_MS:-700}

# stack_prepare: refuses a stack that is already up, checks the shared tools, and starts an empty pids file.
stack_prepare() {
  if [ -s "$stack/pids" ]; then
    echo "stack: already running (pids in $stack/pids); run 'make stack-down' first" >&2
    exit 1
  fi
  [ -x "$bin/temporal" ] || { echo "stack: tools missing; run scripts/install-tools.sh" >&2; exit 1; }
  [ -f "$root/dist/worker.js" ] || { echo "stack: dist/ missing; run npm run build" >&2; exit 1; }
  mkdir -p "$stack/logs" "$stack/registry"
  # Files here hold credentials (env, the registry's htpasswd and secret): only root reads them. The directory stays
  # passable, so the sandbox's image user reaches the worker's step directories under $stack/work/sandbox.
  umask 077
  chmod 711 "$stack"
  : >"$stack/pids"
}

# stack_abort: stops what was started so far and exits; callers have said what failed.
stack_abort() {
  "$root/scripts/stack-down.sh" >/dev/null 2>&1 || true
  exit 1
}

# start NAME PORT CMD...: runs CMD in its own session, records its pid, waits until PORT answers.
start() {
  local name=$1 port=$2
  shift 2
  setsid "$@" >"$stack/logs/$name.log" 2>&1 </dev/null &
  echo "$! $name" >>"$stack/pids"
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$!" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "stack: $name did not start on port $port; see $stack/logs/$name.log" >&2
  tail -5 "$stack/logs/$name.log" >&2 || true
  stack_abort
}

# stack_finish TEMPORAL_LABEL WORKERS: the AWS emulator, the registry, STACK_DIR/env, the seed, WORKERS workers.
stack_finish() {
  local label=$1 workers=$2
  start moto "$moto_port" "$bin/python" "$root/scripts/moto_sim" --host 127.0.0.1 --port "$moto_port" --step-ms "$step_ms"

  # The registry takes the credentials the emulator's ECR GetAuthorizationToken hands out, so pushes use the real auth flow.
  printf '%s' "123456789012-auth-token" | "$bin/python" -c \
    'import bcrypt,sys; print("AWS:" + bcrypt.hashpw(sys.stdin.read().encode(), bcrypt.gensalt(rounds=6)).decode())' \
    >"$stack/registry/htpasswd"
  cat >"$stack/registry/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $stack/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$registry_port
  secret: local-stack-only
auth:
  htpasswd:
    realm: local-stack
    path: $stack/registry/htpasswd
YAML
  start registry "$registry_port" docker-registry serve "$stack/registry/config.yml"

  # A local OIDC issuer, so approvals here use real signed ID tokens; it mints only for whoever can read the key it
  # writes into the stack's directory, and listens on loopback only.
  start issuer "$issuer_port" node "$root/dist/devstack/issuer.js" --port "$issuer_port" --dir "$stack/issuer" \
    --audience ecs-deploy-local

  cat >"$stack/env" <<ENV
AWS_REGION=us-east-1
AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
ECR_REPOSITORY=hello
ECS_CLUSTER=local
ECS_SERVICE=hello
CONTAINER_NAME=hello
ECS_TASK_DEFINITION=deploy/task-definition.json
TEMPORAL_ADDRESS=127.0.0.1:$temporal_port
TEMPORAL_NAMESPACE=default
TEMPORAL_TASK_QUEUE=ecs-deploy
TEMPORAL_UI_URL=http://127.0.0.1:$ui_port
DEPLOY_REGISTRY=127.0.0.1:$registry_port
DEPLOY_OIDC_ISSUER=http://127.0.0.1:$issuer_port
DEPLOY_OIDC_AUDIENCE=ecs-deploy-local
DEPLOY_DEV_ISSUER_KEY_FILE=$stack/issuer/mint.key
ENV

  set -a
  # shellcheck disable=SC1091
  . "$stack/env"
  set +a
  TASK_FAMILY=hello node "$root/dist/devstack/seed.js"

  local i
  for i in $(seq 1 "$workers"); do start_worker "$i"; done

  cat <<MSG
stack: up ($(wc -l <"$stack/pids") processes, pids in $stack/pids)
  Temporal     $TEMPORAL_ADDRESS   UI $TEMPORAL_UI_URL   ($label)
  AWS emulator $AWS_ENDPOINT_URL (ECS, ECR)
  registry     $DEPLOY_REGISTRY
  OIDC issuer  $DEPLOY_OIDC_ISSUER (deployctl token --as alice)
  workers      $workers, logs in $stack/logs/worker*.log
use it:  set -a; . $stack/env; set +a; npx deployctl deploy --sha \$(git rev-parse HEAD) --wait
MSG
}

# start_worker N: worker N polls the task queue. Each has its own work dir, as separate machines would; they share
# the Go caches, which Go keeps safe for concurrent use. They trust the local issuer (STACK_DIR/env) and take their
# approval policy from DEPLOY_APPROVAL_POLICY, by default deploy/approval-policy.local.json.
start_worker() {
  local n=$1 name=worker work=$stack/work
  if [ "$n" -gt 1 ]; then name=worker-$n work=$stack/work-$n; fi
  local worker_env=(DEPLOY_SOURCE_REPO="${DEPLOY_SOURCE_REPO:-$root}" DEPLOY_WORK_DIR="$work" DEPLOY_CACHE_DIR="${DEPLOY_CACHE_DIR:-$root/.cache}" DEPLOY_REGISTRY_INSECURE=true DEPLOY_APPROVAL_POLICY="${DEPLOY_APPROVAL_POLICY:-$root/deploy/approval-policy.local.json}")
  setsid env "${worker_env[@]}" node "$root/dist/worker.js" >"$stack/logs/$name.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid $name" >>"$stack/pids"
  for _ in $(seq 1 100); do
    grep -q "worker: polling" "$stack/logs/$name.log" && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$stack/logs/$name.log" >&2; stack_abort; }
    sleep 0.2
  done
  echo "stack: $name is not polling yet after 20 s; see $stack/logs/$name.log" >&2
}
