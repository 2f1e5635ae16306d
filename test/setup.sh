#!/usr/bin/env bash
# Install what tracegate needs on Debian bookworm (as root) and build it.
#   test/setup.sh          build dependencies + test dependencies, then build
#   BUILD_DIR=... test/setup.sh   build somewhere else (default: build/)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  gcc pkg-config meson ninja-build
  libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libprotobuf-c-dev protobuf-c-compiler
  # tests, demo and benchmarks
  curl python3 python3-pytest python3-aiohttp python3-psutil procps
  nginx-light wrk strace util-linux
  # the full-stack tracing test's database (test/stack)
  postgresql-15
  # fuzz targets (test/fuzz): clang, and compiler-rt, which ships libFuzzer
  # and the sanitizer runtimes (only recommended by clang, so named here)
  clang libclang-rt-14-dev
)
# Go is not installed here: the sampler comparison (test/sampler-go) builds
# against go.opentelemetry.io/otel/sdk, whose go.mod needs Go >= 1.26, and
# Debian bookworm's golang-go is 1.19. It expects Go 1.26 on PATH or in
# /usr/local/go (the project's machines have it); without it test/run.sh
# counts that one check as failed and says why.
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -q
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
fi

build=${BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" ${MESON_ARGS:-} >/dev/null
fi
ninja -C "$build" >/dev/null
bash test/interop/setup.sh  # Node and Bun peers for the OpenTelemetry interop tests
bash test/stack/setup.sh    # the full-stack tracing test: Bun monolith packages, Go backend
echo "setup: built $build/gateway/tracegate"
