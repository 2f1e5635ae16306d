#!/usr/bin/env bash
# Install the full-stack test's packages (test/stack/bun-monolith) exactly as
# its package-lock.json pins them, and build the Go backend (cached outside
# the tree by build-go-backend.sh). Idempotent: node_modules installed from
# the same lock file is left alone, and a built go-core is reused.
#
# Needs node and npm (test/interop/setup.sh installs them; the monolith runs
# on the Bun binary that test/interop/bun installs) and, for the Go build,
# Go >= 1.26; without Go the build is left to test/run.sh, which counts it.
set -euo pipefail
cd "$(dirname "$0")"

want=$(sha256sum bun-monolith/package-lock.json | cut -d' ' -f1)
stamp=bun-monolith/node_modules/.installed-from-lock
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "stack setup: npm ci in test/stack/bun-monolith"
  (cd bun-monolith && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
fi

# Progress and the binary's path go to stderr ("go-core build: ...").
bash build-go-backend.sh >/dev/null ||
  echo "stack setup: go-core not built (see the messages above)" >&2
