#!/usr/bin/env bash
# Stops exactly what scripts/stack-up.sh started, by process id (each leads its own session, so its children go too).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stack=${STACK_DIR:-$root/.stack}
[ -s "$stack/pids" ] || { echo "stack: not running"; exit 0; }
# Worker first, so it lets go of its activities before the server goes.
tac "$stack/pids" | while read -r pid name; do
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; fi
    echo "stack: stopped $name ($pid)"
  fi
done
: >"$stack/pids"
