#!/usr/bin/env bash
# Stops exactly what scripts/stack-up.sh or scripts/cluster-up.sh started, by process id (each leads its own
# session, so its children go too).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stack=${STACK_DIR:-$root/.stack}
[ -s "$stack/pids" ] || { echo "stack: not running"; exit 0; }
# Workers first, so they let go of their activities before the server goes; PostgreSQL last, after its clients.
tac "$stack/pids" | while read -r pid name; do
  if kill -0 "$pid" 2>/dev/null; then
    if [ "$name" = postgres ]; then
      # SIGINT to the postmaster alone is PostgreSQL's fast shutdown: it stops its own children and checkpoints.
      kill -INT "$pid" 2>/dev/null
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    else
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; fi
    echo "stack: stopped $name ($pid)"
  fi
done
: >"$stack/pids"
