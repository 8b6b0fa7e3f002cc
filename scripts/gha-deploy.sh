#!/usr/bin/env bash
# The deploy job's one real step (.github/workflows/deploy.yml): start the deploy of DEPLOY_SHA (or GITHUB_SHA)
# on Temporal and wait for it, with progress in the log, a job summary and step outputs.
# The job holds no AWS credentials and builds nothing: the worker does all of that.
#
# Reads: DEPLOY_SHA (optional), GITHUB_SHA, the target (AWS_REGION ECR_REPOSITORY ECS_CLUSTER ECS_SERVICE
# CONTAINER_NAME [ECS_TASK_DEFINITION]) and Temporal's settings (TEMPORAL_ADDRESS TEMPORAL_NAMESPACE and
# TEMPORAL_API_KEY, or the PEM text of TEMPORAL_TLS_CLIENT_CERT and TEMPORAL_TLS_CLIENT_KEY, optionally
# TEMPORAL_TLS_SERVER_CA_CERT), which this script writes to files for deployctl. With `id-token: write` and
# DEPLOY_OIDC_AUDIENCE, deployctl sends the job's own OIDC ID token, so the worker knows who asked (four eyes).
#
# The runner cancels a step by sending SIGINT to this shell only (SIGTERM 7.5 s later), not to its children.
# So deployctl runs in the background and the signals are passed on: the first one makes deployctl cancel the
# deploy, which then compensates on the worker; a second one stops the waiting, and the deploy finishes alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

sha=${DEPLOY_SHA:-${GITHUB_SHA:-}}
if [ -z "$sha" ]; then
  echo "gha-deploy: no commit to deploy: set the sha input or GITHUB_SHA" >&2
  exit 2
fi

# shellcheck source=gha-lib.sh
. "$root/scripts/gha-lib.sh"

# stdout (the JSON result) goes to a file; stderr (progress) streams into the log and is kept for the summary.
mkfifo "$tmp/stderr.fifo"
tee "$tmp/stderr" <"$tmp/stderr.fifo" >&2 &
tee_pid=$!
node "$root/dist/cli/main.js" deploy --sha "$sha" --wait --json --github-summary \
  >"$tmp/result.json" 2>"$tmp/stderr.fifo" &
pid=$!
forward() {
  echo "gha-deploy: $1 received; passing it on to deployctl (pid $pid)" >&2
  kill "-$1" "$pid" 2>/dev/null || true
}
trap 'forward INT' INT
trap 'forward TERM' TERM

rc=0
wait "$pid" || rc=$?
# A trapped signal ends `wait` early; keep waiting until deployctl itself has exited.
while kill -0 "$pid" 2>/dev/null; do
  rc=0
  wait "$pid" || rc=$?
done
trap - INT TERM
wait "$tee_pid" || true

if [ ! -s "$tmp/result.json" ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  # deployctl ended without a result: bad settings, Temporal unreachable, or told twice to stop waiting.
  {
    echo "## ❌ Deploy ${sha:0:7}: no result (deployctl exited $rc)"
    echo
    echo '```text'
    tail -n 5 "$tmp/stderr"
    echo '```'
  } >>"$GITHUB_STEP_SUMMARY"
fi
exit "$rc"
