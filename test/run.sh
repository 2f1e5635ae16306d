#!/usr/bin/env bash
# Install, build and run every test: the unit test programs, then the
# integration tests (real processes on 127.0.0.1). Ends with the line
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

echo "== integration tests"
report=$(mktemp)
/usr/bin/python3 -m pytest test/integration -q -p no:cacheprovider --junitxml="$report" ${PYTEST_ARGS:-}
read -r p f < <(/usr/bin/python3 - "$report" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad)
PY
) || { p=0; f=1; }
rm -f "$report"
passed=$((passed + p)); failed=$((failed + f))

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
