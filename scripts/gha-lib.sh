# Sourced by the Actions steps that run deployctl (scripts/gha-approve.sh): a private temp directory, and the Temporal
# client certificates, given as PEM text in secrets, written to files there for deployctl. (The deploy job uses the
# Action, which takes the PEM text as inputs and needs no files.)

tmp=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/deploy.XXXXXX")
chmod 700 "$tmp"
trap 'rm -rf "$tmp"' EXIT

# pem NAME PATHVAR: writes the PEM text in $NAME to a private file and points deployctl's PATHVAR at it.
pem() {
  local text=${!1:-}
  [ -n "$text" ] || return 0
  (umask 077 && printf '%s\n' "$text" >"$tmp/$1.pem")
  export "$2=$tmp/$1.pem"
  unset "$1"
}
pem TEMPORAL_TLS_CLIENT_CERT TEMPORAL_TLS_CLIENT_CERT_PATH
pem TEMPORAL_TLS_CLIENT_KEY TEMPORAL_TLS_CLIENT_KEY_PATH
pem TEMPORAL_TLS_SERVER_CA_CERT TEMPORAL_TLS_SERVER_CA_CERT_PATH
