#!/usr/bin/env bash
# Stops what scripts/cluster-up.sh started, by process id; the same as scripts/stack-down.sh, which knows both
# stacks. The data (PostgreSQL's directory) stays in STACK_DIR for the next start.
exec "$(dirname "$0")/stack-down.sh" "$@"
