#!/usr/bin/env bash
# Install, build and run every test: the unit test programs, the
# integration tests (real processes on 127.0.0.1), then both again against
# a sanitizer build (SKIP_SANITIZERS=1 skips that), then the fuzz targets
# for a bounded time (SKIP_FUZZ=1 skips them). Ends with the line
# "N passed, N failed"; exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
echo "== unit tests"
for t in build/test/unit/test_*; do
  [ -x "$t" ] && [ -f "$t" ] || continue
  out=$("$t" 2>&1)
  echo "$out" | grep -v '^ok - '
  p=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
  f=$(echo "$out" | sed -n 's/^# \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
  if [ -z "$p" ]; then  # crashed before its summary
    echo "$t: no summary (crashed?)"
    p=0; f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
done

# tracegate's sampler against the OpenTelemetry Go SDK: one check. Without
# Go (>= 1.26) it fails with the reason rather than being skipped.
echo "== sampler decisions vs the OpenTelemetry Go SDK"
if bash test/sampler-go/compare.sh build; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

# The OpenTelemetry Collector and Jaeger v2 the export tests send to, built
# from their Go modules (pinned, cached outside the tree): a check each, so a
# failed build is counted rather than hidden behind skipped tests.
for b in build.sh build-jaeger.sh; do
  echo "== test/collector/$b"
  if bash "test/collector/$b" >/dev/null; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done

# go-core, the Go backend of the full-stack tracing test (test/stack), built
# from its pinned go.mod/go.sum and cached the same way: one check.
echo "== test/stack/build-go-backend.sh"
if bash test/stack/build-go-backend.sh >/dev/null; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

# run_pytest LABEL [pytest args...]: adds the suite's counts to the totals.
run_pytest() {
  local label=$1; shift
  local report
  report=$(mktemp)
  echo "== $label"
  /usr/bin/python3 -m pytest test/integration -q -p no:cacheprovider --junitxml="$report" \
    ${PYTEST_ARGS:-} "$@"
  read -r p f < <(/usr/bin/python3 - "$report" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1)
    sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad)
PY
  )
  rm -f "$report"
  passed=$((passed + p)); failed=$((failed + f))
}

run_pytest "integration tests"

# The reliability scripts in their CI mode (test/RELIABILITY.md): the
# collector down for 20 s under 2,000 requests/s, and 60 s of mixed traffic
# with reloads and admin changes. Each "ok -" / "not ok -" line they print is
# a check; a script that ends in error without saying which check failed
# counts as one failure. SKIP_RELIABILITY=1 skips them.
run_script() {
  local label=$1; shift
  local out rc p f
  echo "== $label"
  out=$("$@" 2>&1); rc=$?
  echo "$out" | grep -E '^(ok|not ok|info) - |^# [0-9]+ passed'
  p=$(echo "$out" | grep -c '^ok - ')
  f=$(echo "$out" | grep -c '^not ok - ')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "$out" | tail -20
    f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
}
if [ "${SKIP_RELIABILITY:-0}" != 1 ]; then
  run_script "collector down under load (test/bench/outage.py --ci)" \
    /usr/bin/python3 test/bench/outage.py --ci
  run_script "soak (test/soak/soak.py --ci)" /usr/bin/python3 test/soak/soak.py --ci
fi

# What a sanitizer report looks like, wherever it is printed.
SANITIZER_MARKERS='runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer'

# sanitizer_canary DIR: build a program that has undefined behaviour on a
# thread and leaks, run it with the options of the sanitized run, and check
# that each report is caught: in DIR (log_path) or on the stderr this script
# and conftest.py scan. With GCC, UBSan's reports go to stderr whatever
# UBSAN_OPTIONS says (libubsan is a runtime of its own beside libasan and
# keeps stderr as its report file), which is why stderr is scanned at all;
# the canary says where each report went. Its own reports are removed.
sanitizer_canary() {
  local dir=$1 work pid ub leak
  work=$(mktemp -d) || return 1
  cat >"$work/canary.c" <<'CEOF'
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
static void *overflow(void *arg) { volatile int x = INT_MAX; x += *(int *)arg; return NULL; }
int main(int argc, char **argv) {
    pthread_t t;
    void *volatile leak = malloc(33);
    pthread_create(&t, NULL, overflow, &argc);
    pthread_join(t, NULL);
    leak = NULL;
    return argv == NULL;
}
CEOF
  if ! "${CC:-cc}" -fsanitize=address,undefined -g -pthread "$work/canary.c" -o "$work/canary"; then
    echo "sanitizer canary: cannot build it"
    rm -rf "$work"
    return 1
  fi
  "$work/canary" >"$work/stderr" 2>&1 &
  pid=$!
  wait "$pid"
  ub=missed
  leak=missed
  grep -qs 'runtime error:' "$work/stderr" && ub=stderr
  grep -qs 'runtime error:' "$dir"/*."$pid" && ub=log_path
  grep -qs 'ERROR: LeakSanitizer' "$work/stderr" && leak=stderr
  grep -qs 'ERROR: LeakSanitizer' "$dir"/*."$pid" && leak=log_path
  echo "sanitizer canary: UBSan report to $ub, LeakSanitizer report to $leak"
  rm -f "$dir"/*."$pid"
  rm -rf "$work"
  [ "$ub" != missed ] && [ "$leak" != missed ]
}

# The same suites against an AddressSanitizer + UndefinedBehaviorSanitizer
# build. Sanitizer reports (including leaks found at exit) go to files, and
# the output of every test program and tracegate process is scanned for
# them too (conftest.py writes what it finds into the same directory), so a
# report that missed log_path is still counted; the canary first proves that
# both kinds of report are caught. Any report is a failure. Memory ceilings are checked on the
# normal build only (ASan keeps freed memory in quarantine); left to the
# normal build for time: the 1 GiB streams and the 2,000-client test.
if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  BUILD_DIR=build-asan MESON_ARGS="-Db_sanitize=address,undefined -Db_lundef=false" \
    bash test/setup.sh >/dev/null || { echo "sanitizer build failed"; failed=$((failed + 1)); }
  reports=$(mktemp -d)
  export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1"
  export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1"
  export TG_SANITIZER_REPORTS=$reports
  echo "== sanitizer canary"
  if sanitizer_canary "$reports"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  for t in build-asan/test/unit/test_*; do
    [ -x "$t" ] && [ -f "$t" ] || continue
    out=$("$t" 2>&1)
    rc=$?
    if echo "$out" | grep -qE "$SANITIZER_MARKERS"; then
      echo "$out" >"$reports/output-$(basename "$t")"
    fi
    if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); else echo "sanitized $t failed"; failed=$((failed + 1)); fi
  done
  TRACEGATE_BIN=$PWD/build-asan/gateway/tracegate run_pytest "integration tests (ASan+UBSan)" \
    -k "not 1gib and not 2000_concurrent"
  unset ASAN_OPTIONS UBSAN_OPTIONS TG_SANITIZER_REPORTS
  if ls "$reports"/* >/dev/null 2>&1; then
    echo "== sanitizer reports"
    for r in "$reports"/*; do echo "--- $r"; head -40 "$r"; failed=$((failed + 1)); done
  else
    echo "== sanitizer reports: none"
    passed=$((passed + 1))
  fi
  rm -rf "$reports"
fi

# The libFuzzer targets for a bounded time (20 s each by default; FUZZ_SECONDS
# sets it, SKIP_FUZZ=1 skips them) in their own clang build directory, over
# the saved corpus. Each target counts as one test.
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz targets"
  fuzz_out=$(bash test/fuzz/run.sh "${FUZZ_SECONDS:-20}" 2>&1)
  echo "$fuzz_out"
  p=$(echo "$fuzz_out" | grep -c '^fuzz_.*: ok,')
  f=$(echo "$fuzz_out" | grep -c '^fuzz_.*: FAILED')
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then  # the build failed: no run
    f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
