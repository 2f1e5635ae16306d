#!/usr/bin/env bash
# Install the interop peers' packages (test/interop/node, test/interop/bun and
# test/interop/otlp) exactly as their package-lock.json files pin them.
# Idempotent: a directory whose node_modules was installed from the same lock
# file is left alone.
#
# Node.js and npm: the peers need Node ^18.19.0 or >=20.6.0 (the engines range
# of the pinned OpenTelemetry 2.12 / 0.223 packages). When node or npm is
# missing, Debian bookworm's own nodejs (18.20.4) and npm (9.2.0) are
# installed: the pinned packages install from these lock files with that npm
# and the Node peer's tests pass on that Node, so no other apt source is
# needed. A machine that already has a newer Node (20.x) keeps it. Bun needs
# no install of its own: its binary ships inside the @oven/bun-linux-x64
# package and lands in test/interop/bun/node_modules.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "interop setup: installing Debian's nodejs and npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -q
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends nodejs npm
fi

if ! node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  process.exit((maj === 18 && min >= 19) || (maj === 20 && min >= 6) || maj > 20 ? 0 : 1);'; then
  echo "interop setup: node $(node --version) is too old (need ^18.19.0 or >=20.6.0)" >&2
  exit 1
fi

for dir in node bun otlp; do
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  stamp="$dir/node_modules/.installed-from-lock"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    continue
  fi
  echo "interop setup: npm ci in test/interop/$dir"
  # --ignore-scripts: no pinned package needs an install script to work here
  # (Bun's binary is a plain file in its package).
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
done

bun/node_modules/@oven/bun-linux-x64/bin/bun --version >/dev/null
echo "interop setup: node $(node --version), bun $(bun/node_modules/@oven/bun-linux-x64/bin/bun --version)"
