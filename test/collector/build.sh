#!/usr/bin/env bash
# Build the OpenTelemetry Collector that the integration tests send OTLP to
# (test/integration/collector.py), with the OpenTelemetry Collector Builder
# (ocb) and the components listed in manifest.yaml.
#
#   test/collector/build.sh                build if needed; the last stdout line is the binary
#   test/collector/build.sh --print-path   print where the binary is (or will be), build nothing
#   test/collector/build.sh --update-lock  re-resolve modules and rewrite go.mod/go.sum here
#
# The binary lives outside the repository, in
#   ${TRACEGATE_CACHE:-/var/cache/tracegate}/otelcol-<key>/otelcol
# (~/.cache/tracegate when /var/cache/tracegate cannot be created), where
# <key> is a hash of manifest.yaml, go.mod, go.sum, the builder version and
# the Go version. A run whose binary already exists builds nothing, so every
# clean clone after the first is fast; a new manifest or lock file gets a new
# directory.
#
# Pinning: ocb normally writes go.mod from the manifest and runs `go mod tidy`,
# which resolves whatever the module proxy has at that moment. Here the
# resolution is done once (--update-lock) and its go.mod/go.sum are committed
# beside the manifest. A normal build runs ocb with --skip-get-modules, which
# generates only the Go sources, into a directory that already holds the
# committed go.mod/go.sum, and compiles with -mod=readonly: every module
# version and checksum comes from the lock files, and a manifest that no
# longer matches them fails the build instead of silently re-resolving.
#
# Needs Go >= 1.26 (go.mod says go 1.26.0; on PATH or /usr/local/go) and the Go module proxy, which a
# fresh machine uses to download the builder and the modules (a few minutes);
# Go's own caches (~/go/pkg/mod, ~/.cache/go-build) make later builds faster.
# Progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# ocb and the collector core share a version number; see manifest.yaml.
BUILDER_VERSION=v0.162.0

mode=build
case "${1:-}" in
  "") ;;
  --print-path) mode=print ;;
  --update-lock) mode=update ;;
  *) echo "usage: $0 [--print-path | --update-lock]" >&2; exit 2 ;;
esac

say() { echo "collector build: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

find_go 1.26

cache_root

# Keep to two parallel compile jobs: the machines are small and shared.
export GOFLAGS="${GOFLAGS:-} -p=2"
export CGO_ENABLED=0

builder_dir=$cache/ocb-$BUILDER_VERSION
builder=$builder_dir/builder
install_builder() {
  [ -x "$builder" ] && return 0
  say "installing go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION"
  mkdir -p "$builder_dir"
  GOBIN=$builder_dir "$go" install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION" >&2 ||
    die "go install of the collector builder $BUILDER_VERSION failed"
}

# Scratch directory for ocb's output, removed on exit.
work=
cleanup() { [ -z "$work" ] || rm -rf "$work"; }
trap cleanup EXIT
new_work() {
  work=$(mktemp -d "$cache/.work-XXXXXX")
  cp "$here/manifest.yaml" "$work/manifest.yaml"
}

if [ "$mode" = update ]; then
  install_builder
  new_work
  say "resolving modules for manifest.yaml (ocb, go mod tidy)"
  # -e (read by `go mod tidy` only): a module needed only by the tests of a
  # component's dependencies may be missing from the proxy; the collector
  # itself does not need it, and the build below proves that.
  if ! (cd "$work" && GOFLAGS="$GOFLAGS -e" "$builder" --config manifest.yaml --skip-compilation \
        >"$work/ocb.log" 2>&1); then
    tail -n 30 "$work/ocb.log" >&2
    die "ocb could not resolve the modules"
  fi
  cp "$work/src/go.mod" "$here/go.mod"
  cp "$work/src/go.sum" "$here/go.sum"
  say "wrote $here/go.mod and go.sum; now building with them"
  cleanup
  work=
  exec bash "$here/build.sh"
fi

key=$(cat "$here/manifest.yaml" "$here/go.mod" "$here/go.sum" |
  { cat; echo "builder $BUILDER_VERSION"; echo "$go_version"; } |
  sha256sum | cut -c1-16)
cached_binary otelcol "$key"

start=$(date +%s)
install_builder
new_work
mkdir "$work/src"
cp "$here/go.mod" "$here/go.sum" "$work/src/"
say "building the collector ($BUILDER_VERSION, $go_version) in $work"
if ! (cd "$work" && GOFLAGS="$GOFLAGS -mod=readonly" "$builder" --config manifest.yaml --skip-get-modules \
      >"$work/ocb.log" 2>&1); then
  tail -n 30 "$work/ocb.log" >&2
  die "ocb build failed (if manifest.yaml changed: $0 --update-lock, then commit go.mod and go.sum)"
fi

# The receiver and exporter the tests configure must be in the binary.
components=$("$work/src/otelcol" components 2>&1) || die "the built collector does not run: $components"
for c in otlp file debug otlp_http; do
  echo "$components" | grep -Eq "^[[:space:]]*-?[[:space:]]*name:[[:space:]]*$c\$" ||
    die "component '$c' is missing from the built collector"
done

mv "$work/src/otelcol" "$dest/otelcol.tmp"
mv -f "$dest/otelcol.tmp" "$bin"
say "built $bin in $(($(date +%s) - start))s"
echo "$bin"
