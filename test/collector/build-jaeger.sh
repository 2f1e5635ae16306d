#!/usr/bin/env bash
# Build Jaeger v2 (the all-in-one `jaeger` command: OTLP receivers, storage,
# query API) from its Go module, for the integration tests that read traces
# back through Jaeger's query API (test/integration/collector.py).
#
#   test/collector/build-jaeger.sh               build if needed; the last stdout line is the binary
#   test/collector/build-jaeger.sh --print-path  print where the binary is (or will be), build nothing
#
# The binary lives outside the repository, in
#   ${TRACEGATE_CACHE:-/var/cache/tracegate}/jaeger-<key>/jaeger
# (~/.cache/tracegate when /var/cache/tracegate cannot be created), where
# <key> is a hash of the pinned version and checksum below and the Go
# version; a run whose binary exists builds nothing.
#
# Pinning: Jaeger v2 is released from the Go module github.com/jaegertracing/jaeger
# under its v1 tag numbers (v1.76.0 is Jaeger v2.13.0). Its go.mod has a
# replace directive, so `go install ...@version` refuses it; instead the module
# is downloaded (checked against JAEGER_SUM, the module's h1: hash, which is
# also what the Go checksum database records for it) and built in a scratch
# copy with its own go.mod/go.sum and -mod=readonly: every dependency version
# and checksum comes from the module's own lock files.
#
# Needs Go >= 1.24.6 (on PATH or /usr/local/go) and the Go module proxy.
# Progress goes to stderr.
set -euo pipefail

JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_VERSION=v1.76.0
JAEGER_V2_VERSION=v2.13.0
JAEGER_SUM=h1:sWCOOF1dr+NL0PLil7mFo3BqqQL8k4WiM7aguFbc14g=

mode=build
case "${1:-}" in
  "") ;;
  --print-path) mode=print ;;
  *) echo "usage: $0 [--print-path]" >&2; exit 2 ;;
esac

say() { echo "jaeger build: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

find_go 1.24.6

cache_root

key=$(printf '%s\n' "$JAEGER_MODULE@$JAEGER_VERSION" "$JAEGER_SUM" "$go_version" "ui=placeholder" |
  sha256sum | cut -c1-16)
cached_binary jaeger "$key"

start=$(date +%s)
say "downloading $JAEGER_MODULE@$JAEGER_VERSION"
info=$("$go" mod download -json "$JAEGER_MODULE@$JAEGER_VERSION") ||
  die "go mod download $JAEGER_MODULE@$JAEGER_VERSION failed: $info"
field() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1" <<<"$info"; }
src=$(field Dir)
sum=$(field Sum)
[ "$sum" = "$JAEGER_SUM" ] || die "$JAEGER_MODULE@$JAEGER_VERSION has checksum $sum, expected $JAEGER_SUM"
[ -d "$src/cmd/jaeger" ] || die "no cmd/jaeger in $src"

work=$(mktemp -d "$cache/.work-jaeger-XXXXXX")
trap 'rm -rf "$work"' EXIT
# The module cache is read-only; build in a writable copy.
cp -r "$src/." "$work/jaeger"
chmod -R u+w "$work/jaeger"
# The query service embeds the UI from cmd/query/app/ui/actual/*, which the
# UI's own build fills; the module ships the directory empty, and an embed
# pattern that matches nothing does not compile. With a file that is not
# index.html.gz there, Jaeger serves its placeholder page instead of the UI;
# the query API that the tests use is unaffected.
ui=$work/jaeger/cmd/query/app/ui/actual
mkdir -p "$ui"
if [ -z "$(ls -A "$ui")" ]; then
  echo "UI not built: the query API is served, the UI is a placeholder." >"$ui/README.txt"
fi

say "building $JAEGER_MODULE/cmd/jaeger $JAEGER_VERSION ($JAEGER_V2_VERSION, $go_version) in $work"
ldflags="-s -w -X $JAEGER_MODULE/internal/version.latestVersion=$JAEGER_V2_VERSION"
if ! (cd "$work/jaeger" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -p=2 -mod=readonly" \
      "$go" build -trimpath -ldflags "$ldflags" -o "$work/jaeger-bin" ./cmd/jaeger \
      >"$work/build.log" 2>&1); then
  tail -n 30 "$work/build.log" >&2
  die "go build of $JAEGER_MODULE/cmd/jaeger failed"
fi
"$work/jaeger-bin" version >/dev/null 2>&1 || die "the built jaeger does not run"

mv "$work/jaeger-bin" "$dest/jaeger.tmp"
mv -f "$dest/jaeger.tmp" "$bin"
say "built $bin in $(($(date +%s) - start))s"
echo "$bin"
