#!/usr/bin/env bash
# Starts the local stack on Temporal as production runs it: a private PostgreSQL 15 cluster in STACK_DIR/postgres,
# the Temporal server built from its Go module (persistence and advanced visibility on PostgreSQL), the Temporal
# UI server, then the same emulator, registry and seed as scripts/stack-up.sh, and two workers. Same STACK_DIR/env
# and STACK_DIR/pids as that script; stop it with scripts/cluster-down.sh. Needs scripts/install-cluster-tools.sh.
# Ports: STACK_TEMPORAL_PORT, STACK_UI_PORT, STACK_POSTGRES_PORT and those of stack-up.sh; the server's internal
# ports (history, matching, worker, membership) are picked free at each start. STACK_WORKERS sets the worker count.
set -euo pipefail
# shellcheck source=stack-lib.sh
. "$(dirname "$0")/stack-lib.sh"
cluster_bin=$root/.tools/cluster/bin
pg=/usr/lib/postgresql/15/bin
pg_port=${STACK_POSTGRES_PORT:-5433}
# PostgreSQL refuses to run as root; the Debian package's own unprivileged account runs this private cluster.
pg_user=postgres
pgdir=$stack/postgres
workers=${STACK_WORKERS:-2}

for tool in "$pg/postgres" "$cluster_bin/temporal-server" "$cluster_bin/temporal-sql-tool" "$cluster_bin/temporal-ui-server"; do
  [ -x "$tool" ] || { echo "stack: $tool missing; run scripts/install-cluster-tools.sh" >&2; exit 1; }
done
id "$pg_user" >/dev/null 2>&1 || { echo "stack: user $pg_user missing; run scripts/install-cluster-tools.sh" >&2; exit 1; }
stack_prepare

as_pg=(setpriv --reuid="$pg_user" --regid="$pg_user" --init-groups --)

# The data directory is created once and kept, like the dev server's SQLite file; passwords live beside it (0600).
if [ ! -s "$pgdir/data/PG_VERSION" ]; then
  # The postgres account must be able to pass through the stack directory (a private temp dir in tests).
  chmod o+x "$stack"
  install -d -m 700 -o "$pg_user" -g "$pg_user" "$pgdir"
  for role in postgres temporal; do
    (umask 077 && od -An -N18 -tx1 /dev/urandom | tr -d ' \n' >"$pgdir/$role.password")
    chown "$pg_user:$pg_user" "$pgdir/$role.password"
  done
  "${as_pg[@]}" "$pg/initdb" -D "$pgdir/data" -U postgres --pwfile="$pgdir/postgres.password" \
    --auth=scram-sha-256 --encoding=UTF8 --no-locale >"$stack/logs/initdb.log" 2>&1 ||
    { cat "$stack/logs/initdb.log" >&2; stack_abort; }
fi

# Loopback TCP only, no Unix socket: nothing outside this machine, and no shared socket directory, reaches it.
start postgres "$pg_port" "${as_pg[@]}" "$pg/postgres" -D "$pgdir/data" -c listen_addresses=127.0.0.1 -c port="$pg_port" -c unix_socket_directories=
for _ in $(seq 1 50); do "$pg/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.2; done

# psql reads its SQL from stdin and its password from the environment, so no password is ever in argv.
admin_sql() {
  PGPASSWORD=$(cat "$pgdir/postgres.password") "$pg/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" \
    -U postgres -d "${1:-postgres}" -At
}
admin_sql >"$stack/logs/psql.log" 2>&1 <<SQL || { cat "$stack/logs/psql.log" >&2; stack_abort; }
SELECT 'CREATE ROLE temporal LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'temporal')\gexec
ALTER ROLE temporal PASSWORD '$(cat "$pgdir/temporal.password")';
SELECT 'CREATE DATABASE temporal OWNER temporal' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal')\gexec
SELECT 'CREATE DATABASE temporal_visibility OWNER temporal' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal_visibility')\gexec
SQL

# sql_tool DB ARGS...: the schema tool on database DB, as the temporal role (password from the environment).
sql_tool() {
  local db=$1
  shift
  SQL_PASSWORD=$(cat "$pgdir/temporal.password") "$cluster_bin/temporal-sql-tool" --plugin postgres12 \
    --ep 127.0.0.1 -p "$pg_port" -u temporal --db "$db" "$@" >>"$stack/logs/schema.log" 2>&1 ||
    { echo "stack: failed to set up the schema of $db; see $stack/logs/schema.log" >&2; stack_abort; }
}
# Setup creates the version table once; update then brings the schema (embedded in the tool) to the newest version,
# on a new database and after an upgrade of the server alike.
for db in temporal:temporal temporal_visibility:visibility; do
  name=${db%%:*}
  if [ "$(echo "SELECT to_regclass('schema_version') IS NOT NULL" | admin_sql "$name")" != t ]; then
    sql_tool "$name" setup-schema -v 0.0
  fi
  sql_tool "$name" update-schema --schema-name "postgresql/v12/${db#*:}"
done

# Internal ports, picked free at each start and held open together while picking, so the seven are distinct. Below
# 32768: the PostgreSQL schema keeps membership ports in a smallint column, and the server stops on larger ones.
read -r fe_member history_rpc history_member matching_rpc matching_member worker_rpc worker_member < <(
  "$bin/python" -c 'import random, socket
held = []
for port in random.sample(range(20000, 32768), 200):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    held.append(s)
    if len(held) == 7:
        break
print(*(s.getsockname()[1] for s in held))'
)
[ -n "$worker_member" ] || { echo "stack: found no 7 free ports in 20000-32767 for the Temporal server" >&2; stack_abort; }
# The configuration files are templates over these variables; the password reaches the server only this way.
CLUSTER_PG_PASSWORD=$(cat "$pgdir/temporal.password")
export CLUSTER_PG_PASSWORD CLUSTER_PG_PORT=$pg_port CLUSTER_DYNAMIC_CONFIG=$root/scripts/cluster/dynamicconfig.yaml \
  CLUSTER_FRONTEND_PORT=$temporal_port CLUSTER_FRONTEND_MEMBERSHIP_PORT=$fe_member \
  CLUSTER_HISTORY_PORT=$history_rpc CLUSTER_HISTORY_MEMBERSHIP_PORT=$history_member \
  CLUSTER_MATCHING_PORT=$matching_rpc CLUSTER_MATCHING_MEMBERSHIP_PORT=$matching_member \
  CLUSTER_WORKER_PORT=$worker_rpc CLUSTER_WORKER_MEMBERSHIP_PORT=$worker_member CLUSTER_UI_PORT=$ui_port
start temporal "$temporal_port" "$cluster_bin/temporal-server" --config-file "$root/scripts/cluster/temporal.yaml" \
  --allow-no-auth start
unset CLUSTER_PG_PASSWORD

# The frontend opens its port before the cluster can serve requests; wait until it says it is healthy.
temporal_cli() { "$bin/temporal" --address "127.0.0.1:$temporal_port" "$@" >>"$stack/logs/temporal-setup.log" 2>&1; }
setup_failed() {
  echo "stack: failed to $1 on the Temporal server; see $stack/logs/temporal-setup.log and temporal.log" >&2
  tail -5 "$stack/logs/temporal-setup.log" >&2
  stack_abort
}
# retry CMD...: CMD until it succeeds, for up to 30 s.
retry() {
  for _ in $(seq 1 150); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}
retry temporal_cli operator cluster health || setup_failed "get a healthy answer"
temporal_cli operator namespace describe --namespace default ||
  temporal_cli operator namespace create --namespace default --retention 72h ||
  setup_failed "create the namespace default"
# One name per call: given several --name flags, CLI 1.5.1 registered only the first here. Registering a name that
# exists with the same type succeeds, so a restart repeats this harmlessly. A new namespace reaches every service's
# cache within seconds; until then registering is refused, hence the retries.
for name in DeployService DeploySha DeployStage DeployStatus; do
  retry temporal_cli operator search-attribute create --namespace default --name "$name" --type Keyword ||
    setup_failed "register the search attribute $name"
done

start ui "$ui_port" "$cluster_bin/temporal-ui-server" --root "$root/scripts/cluster" --config ui --env cluster start

stack_finish "Temporal $("$cluster_bin/temporal-server" --version | awk '{print $NF}') on PostgreSQL 15" "$workers"
