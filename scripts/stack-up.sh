#!/usr/bin/env bash
# Starts the local stack in the background: Temporal dev server, the ECS/ECR emulator, an OCI registry and one
# worker. Seeds an ECR repository, a cluster and a service on revision 1. Writes STACK_DIR/env and STACK_DIR/pids.
# Ports may be set with STACK_*_PORT; defaults suit one stack per machine. Stop it with scripts/stack-down.sh.
# scripts/cluster-up.sh starts the same stack on a Temporal server backed by PostgreSQL.
set -euo pipefail
# shellcheck source=stack-lib.sh
. "$(dirname "$0")/stack-lib.sh"
stack_prepare

start temporal "$temporal_port" "$bin/temporal" server start-dev --ip 127.0.0.1 --port "$temporal_port" \
  --ui-port "$ui_port" --db-filename "$stack/temporal.db" --log-level warn \
  --search-attribute DeployService=Keyword --search-attribute DeploySha=Keyword \
  --search-attribute DeployStage=Keyword --search-attribute DeployStatus=Keyword
stack_finish "dev server, SQLite" 1
