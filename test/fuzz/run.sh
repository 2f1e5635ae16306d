#!/usr/bin/env bash
# Run every libFuzzer target for a bounded time, starting from its saved
# corpus in test/fuzz/corpus/<name>/. The targets and what they read:
#   tracecontext  traceparent, traceresponse, tracestate, baggage values
#   config        the JSON configuration file, through tg_config_build
#   otlp_proto    protobuf answers of an OTLP receiver (response, rpc.Status)
#   otlp_json     OTLP/JSON answers
#   grpc          gRPC message framing, -bin trailer base64, grpc-message
#   retry_after   Retry-After values
#   kvlist        OTEL_RESOURCE_ATTRIBUTES / OTEL_EXPORTER_OTLP_HEADERS lists
#   headers       Content-Length, upstream response heads and Connection
#                 options, client request heads (gateway/headers.c)
#   admin         admin requests: methods, paths, Authorization values and
#                 /admin/telemetry bodies (admin/admin.c, telemetry.c, auth.c)
#
#   test/fuzz/run.sh [SECONDS_PER_TARGET]     default 20 (what CI runs)
#   FUZZ_SECONDS=3600 test/fuzz/run.sh        long mode: an hour per target
#
# Builds the clang build directory first if needed (BUILD_DIR, default
# build-fuzz: CC=clang meson setup build-fuzz -Dfuzz=true). Inputs the
# fuzzer finds go to a temporary directory, so the saved corpus only changes
# by hand; to keep new ones, merge them into it:
#   build-fuzz/test/fuzz/fuzz_NAME -merge=1 test/fuzz/corpus/NAME DIR
# A crashing input is kept as BUILD_DIR/fuzz-artifacts/crash-*; reproduce
# with build-fuzz/test/fuzz/fuzz_NAME FILE.
# Prints one line per target with its executions; exits non-zero if any
# target found a crash or an invariant failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-${FUZZ_SECONDS:-20}}
build=${BUILD_DIR:-build-fuzz}
targets=(tracecontext config otlp_proto otlp_json grpc retry_after kvlist headers admin)

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true >/dev/null || exit 1
fi
for t in "${targets[@]}"; do
  ninja -C "$build" "test/fuzz/fuzz_$t" >/dev/null || exit 1
done

artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
status=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  log=$work/fuzz.log
  mkdir -p "$work/corpus"
  # The first directory receives new inputs; the saved corpus is only read.
  # -rss_limit_mb and -max_len keep one run modest on a shared machine.
  "$build/test/fuzz/fuzz_$t" "$work/corpus" "test/fuzz/corpus/$t" \
    -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=1024 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 \
    >"$log" 2>&1 < /dev/null
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  if [ "$rc" -eq 0 ]; then
    echo "fuzz_$t: ok, ${execs:-?} executions in ${seconds}s, corpus $(ls "$work/corpus" | wc -l) new + $(ls "test/fuzz/corpus/$t" | wc -l) saved"
  else
    echo "fuzz_$t: FAILED (exit $rc) after ${execs:-?} executions"
    grep -E 'ERROR|invariant failed|SUMMARY|Test unit written' "$log" | head -20
    status=1
  fi
  rm -rf "$work"
done
exit $status
