#!/usr/bin/env bash
# Installs what `make stack-cluster` needs: Debian's PostgreSQL 15, and the Temporal server, its SQL schema tool and
# the UI server built from their Go modules into .tools/cluster/bin. Opt-in: neither `make test` nor `make demo`
# runs it, because the server build takes many minutes on a small machine. Idempotent: a second run only checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$root/scripts/versions.env"
out=$root/.tools/cluster
mkdir -p "$out/bin"

if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
  echo "install-cluster-tools: apt-get install postgresql-15=$POSTGRESQL_DEB_VERSION"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "postgresql-15=$POSTGRESQL_DEB_VERSION" >/dev/null
fi

# The same build as upstream's Makefile: static binaries, without the optional gRPC modules.
export GOTOOLCHAIN=$CLUSTER_GO_TOOLCHAIN CGO_ENABLED=0

# go install names a binary after its package directory (server, sql); it is built here, then renamed.
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT

# build NAME PACKAGE VERSION [TAGS]: go install PACKAGE@VERSION as bin/NAME, unless that exact build is there.
build() {
  local name=$1 pkg=$2 version=$3 tags=${4:-}
  local want="$pkg@$version $GOTOOLCHAIN tags=$tags" stamp="$out/bin/.$name.built"
  if [ -x "$out/bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  echo "install-cluster-tools: building $name from $pkg@$version"
  local started
  started=$(date +%s)
  GOBIN=$staging nice -n 10 go install ${tags:+-tags "$tags"} "$pkg@$version"
  mv "$staging/$(basename "$pkg")" "$out/bin/$name"
  echo "$want" >"$stamp"
  echo "install-cluster-tools: built $name in $(($(date +%s) - started)) s"
}

build temporal-server go.temporal.io/server/cmd/server "$TEMPORAL_SERVER_VERSION" disable_grpc_modules
build temporal-sql-tool go.temporal.io/server/cmd/tools/sql "$TEMPORAL_SERVER_VERSION" disable_grpc_modules
build temporal-ui-server github.com/temporalio/ui-server/v2/cmd/server "$TEMPORAL_UI_SERVER_VERSION"

echo "install-cluster-tools: ready ($(/usr/lib/postgresql/15/bin/postgres --version)," \
  "temporal-server $("$out/bin/temporal-server" --version | awk '{print $NF}')," \
  "ui-server $("$out/bin/temporal-ui-server" --version | awk '{print $NF}'))"
