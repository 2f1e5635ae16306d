#!/usr/bin/env bash
# Compare tracegate's sampling decisions with the OpenTelemetry Go SDK's for
# the same trace ids and rates: TraceIDRatioBased with no parent, and
# ParentBased(TraceIDRatioBased) with no parent, a remote sampled parent and
# a remote unsampled parent.
#
#   test/sampler-go/compare.sh [BUILD_DIR]     (default: build)
#
# Needs the meson build (BUILD_DIR/test/sampler-go/sampler_decide) and Go
# >= 1.26; the Go side is built here with `go build`, which fetches the
# pinned modules (go.sum) from the Go module proxy on first use. Prints the
# mismatches (the first few) and one summary line; exits 0 only when every
# decision matches.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "$root" && cd "${1:-build}" 2>/dev/null && pwd) || {
  echo "sampler-go: FAILED: build directory ${1:-build} not found (meson setup build && ninja -C build)"
  exit 1
}
ids=${SAMPLER_GO_IDS:-10000}

fail() {
  echo "sampler-go: FAILED: $*"
  exit 1
}

go=$(command -v go || true)
if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then
  go=/usr/local/go/bin/go
fi
[ -n "$go" ] || fail "no Go toolchain (need Go >= 1.26 on PATH or in /usr/local/go;" \
  "Debian bookworm's golang-go 1.19 is too old for go.opentelemetry.io/otel/sdk)"

c_bin=$build/test/sampler-go/sampler_decide
[ -x "$c_bin" ] || fail "$c_bin not built (ninja -C $build)"

sdk_version=$(sed -n 's/^[[:space:]]*go\.opentelemetry\.io\/otel\/sdk \(v[^ ]*\).*/\1/p' "$here/go.mod")
go_bin=$build/test/sampler-go/sampler-go-ref
# GOTOOLCHAIN=local: use the Go that is installed, and say so if it is too
# old, rather than fetching another toolchain.
if ! (cd "$here" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly "$go" build -o "$go_bin" ./sdkdecide); then
  fail "go build of test/sampler-go failed ($("$go" version 2>/dev/null); go.mod needs Go >= 1.26)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 "$here/gen_cases.py" "$ids" >"$work/cases" || fail "gen_cases.py failed"
"$go_bin" <"$work/cases" >"$work/go" || fail "the Go SDK program failed"
"$c_bin" <"$work/cases" >"$work/tg" || fail "sampler_decide failed"

cases=$(wc -l <"$work/cases")
go_lines=$(wc -l <"$work/go")
tg_lines=$(wc -l <"$work/tg")
[ "$cases" -gt 0 ] && [ "$go_lines" -eq "$cases" ] && [ "$tg_lines" -eq "$cases" ] ||
  fail "line counts differ: cases $cases, Go SDK $go_lines, tracegate $tg_lines"

# Line by line: the trace id and rate are echoed by both programs, so a
# shifted or reordered line shows up as a mismatch too.
mismatches=$(paste -d '|' "$work/go" "$work/tg" | awk -F '|' '
  $1 != $2 {
    n++
    if (n == 1) {
      print "mismatches (id rate ratio pb_root pb_sampled pb_unsampled), first 10:" > "/dev/stderr"
    }
    if (n <= 10) {
      print "  Go SDK:    " $1 > "/dev/stderr"
      print "  tracegate: " $2 > "/dev/stderr"
    }
  }
  END { print n + 0 }')

# What the reference decided, per column: a reference that always says the
# same thing would make the comparison meaningless.
read -r ratio_on pb_root_on pb_sampled_on pb_unsampled_on < <(awk '
  { a += $3; b += $4; c += $5; d += $6 }
  END { print a + 0, b + 0, c + 0, d + 0 }' "$work/go")
echo "sampler-go: Go SDK sampled: ratio $ratio_on, parentbased root $pb_root_on," \
  "remote sampled parent $pb_sampled_on, remote unsampled parent $pb_unsampled_on (of $cases)"
if [ "$ratio_on" -eq 0 ] || [ "$ratio_on" -eq "$cases" ]; then
  fail "the Go SDK's ratio column is all one decision; the case set is not exercising it"
fi

n_ids=$(cut -d ' ' -f 1 "$work/cases" | sort -u | wc -l)
n_rates=$(cut -d ' ' -f 2 "$work/cases" | sort -u | wc -l)
summary="$cases cases ($n_ids trace ids, $n_rates distinct rates), 4 decisions each,"
summary="$summary mismatches = $mismatches, against go.opentelemetry.io/otel/sdk $sdk_version"
if [ "$mismatches" -ne 0 ]; then
  fail "$summary"
fi
echo "sampler-go: ok: $summary"
