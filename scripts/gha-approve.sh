#!/usr/bin/env bash
# The approve job's one real step (.github/workflows/approve.yml): approve the deploy WORKFLOW_ID with this job's own
# OIDC ID token, which deployctl requests from GitHub for DEPLOY_OIDC_AUDIENCE (the job needs `id-token: write`).
# The worker verifies it, reads the identity claim it is configured with (e.g. `actor`: who ran this workflow), and
# checks it against the service's approvers and the requester (four eyes). The token is never printed.
#
# Reads: WORKFLOW_ID, COMMENT (optional), DEPLOY_OIDC_AUDIENCE, ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN (set by GitHub),
# and Temporal's settings: TEMPORAL_ADDRESS TEMPORAL_NAMESPACE and TEMPORAL_API_KEY, or the PEM text of
# TEMPORAL_TLS_CLIENT_CERT and TEMPORAL_TLS_CLIENT_KEY, optionally TEMPORAL_TLS_SERVER_CA_CERT (scripts/gha-lib.sh
# writes them to private files for deployctl).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${WORKFLOW_ID:-}" ]; then
  echo "gha-approve: no deploy to approve: set the workflow-id input (deploy.<cluster>.<service>.<sha>.<n>)" >&2
  exit 2
fi
if [ -z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ]; then
  echo "gha-approve: no ID token: give the job 'permissions: id-token: write'" >&2
  exit 2
fi

# shellcheck source=gha-lib.sh
. "$root/scripts/gha-lib.sh"

node "$root/dist/cli/main.js" approve "$WORKFLOW_ID" --comment "${COMMENT:-approved in ${GITHUB_REPOSITORY:-?} run ${GITHUB_RUN_ID:-?}}"
