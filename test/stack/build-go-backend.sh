#!/usr/bin/env bash
# Build go-core, the Go backend of the full-stack tracing test
# (test/stack/go-backend: Echo + otelecho, GORM + otelgorm on PostgreSQL, the
# OpenTelemetry Go SDK with the OTLP/HTTP exporter).
#
#   test/stack/build-go-backend.sh               build if needed; the last stdout line is the binary
#   test/stack/build-go-backend.sh --print-path  print where the binary is (or will be), build nothing
#
# The binary lives outside the repository, in
#   ${TRACEGATE_CACHE:-/var/cache/tracegate}/go-core-<key>/go-core
# (~/.cache/tracegate when /var/cache/tracegate cannot be created), where
# <key> is a hash of the sources, go.mod, go.sum and the Go version: a run
# whose binary exists builds nothing. Every module version and checksum
# comes from the committed go.mod/go.sum (-mod=readonly); the first build
# downloads them from the Go module proxy.
#
# Needs Go >= 1.26 (on PATH or /usr/local/go). Progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$here/go-backend

mode=build
case "${1:-}" in
  "") ;;
  --print-path) mode=print ;;
  *) echo "usage: $0 [--print-path]" >&2; exit 2 ;;
esac

say() { echo "go-core build: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
# shellcheck source=../collector/common.sh
. "$here/../collector/common.sh"

find_go 1.26
cache_root

key=$(cd "$src" && cat go.mod go.sum $(ls ./*.go | LC_ALL=C sort) |
  { cat; echo "$go_version"; } | sha256sum | cut -c1-16)
cached_binary go-core "$key"

start=$(date +%s)
say "building $src ($go_version)"
if ! (cd "$src" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -p=2 -mod=readonly" \
      "$go" build -trimpath -o "$dest/go-core.tmp" . >"$dest/build.log" 2>&1); then
  tail -n 30 "$dest/build.log" >&2
  die "go build failed"
fi
mv -f "$dest/go-core.tmp" "$bin"
say "built $bin in $(($(date +%s) - start))s"
echo "$bin"
