#!/usr/bin/env bash
# Instructions per request of tracegate by tracing mode, counted by
# valgrind's callgrind: repeatable run to run whatever else the machine is
# doing, unlike CPU time. Complements test/bench/tracing.py.
#
# Each mode: tracegate (1 worker) under callgrind in front of an nginx
# serving 3 bytes, wrk -c10 for SECONDS (default 6), SIGINT, total
# instructions of all threads / requests completed. Start-up is included
# and amortised (about 1% at these request counts).
#
# "100% otlp" exports every span live over OTLP/HTTP protobuf to a
# discarding receiver (test/interop/otlp/receiver.js --discard).
#
# Usage: bash test/bench/instructions.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-6}
bin=${TRACEGATE_BIN:-$PWD/build/gateway/tracegate}
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on $1" >&2
  return 1
}

up=$(port)
mkdir -p "$tmp/www" && echo ok > "$tmp/www/small" && chmod -R a+rX "$tmp"
cat > "$tmp/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $tmp/nginx.pid; error_log $tmp/nginx.err;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$up; root $tmp/www; } }
CONF
nginx -c "$tmp/nginx.conf" & pids+=($!)
wait_port "$up"

# Live OTLP export goes to a discarding receiver (its CPU is not counted).
node test/interop/otlp/receiver.js --discard > "$tmp/rx.ready" 2>/dev/null & pids+=($!)
for _ in $(seq 1 200); do [ -s "$tmp/rx.ready" ] && break; sleep 0.05; done
rx_port=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_port"])' "$tmp/rx.ready")
export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$rx_port

declare -A result
modes=("disabled:TELEMETRY_ENABLED=false:none" "0%:TELEMETRY_SAMPLE_RATE=0:none"
       "10%:TELEMETRY_SAMPLE_RATE=0.1:none" "100%:TELEMETRY_SAMPLE_RATE=1:none"
       "100% console:TELEMETRY_SAMPLE_RATE=1:console"
       "100% otlp:TELEMETRY_SAMPLE_RATE=1:otlp")
for m in "${modes[@]}"; do
  IFS=: read -r name setting exporter <<<"$m"
  tp=$(port)
  env "$setting" OTEL_TRACES_EXPORTER="$exporter" valgrind --tool=callgrind \
    --callgrind-out-file="$tmp/cg.out" "$bin" --listen 127.0.0.1:"$tp" \
    --upstream http://127.0.0.1:"$up" --workers 1 --access-log off \
    >/dev/null 2>"$tmp/vg.err" &
  vg=$!
  wait_port "$tp"
  n=$(wrk -t1 -c10 -d"${secs}"s http://127.0.0.1:"$tp"/small | sed -n 's/ *\([0-9]*\) requests in.*/\1/p')
  kill -INT "$vg"
  wait "$vg" || true
  total=$(callgrind_annotate "$tmp/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
  result[$name]=$((total / n))
  echo "  $name: $n requests, ${result[$name]} instructions/request" >&2
done
base=${result[disabled]}
echo
echo "| tracing | instructions/request | ratio vs disabled |"
echo "|---|---|---|"
for m in "${modes[@]}"; do
  name=${m%%:*}
  awk -v n="$name" -v v="${result[$name]}" -v b="$base" \
    'BEGIN { printf "| %s | %d | %.3f |\n", n, v, v / b }'
done
