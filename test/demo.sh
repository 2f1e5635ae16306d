#!/usr/bin/env bash
# The main job: build tracegate and run it in front of the bundled demo
# upstream. Ctrl-C stops both.
#   TG_PORT (default 8080) and UPSTREAM_PORT (default 3000) pick the ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/setup.sh

tg_port=${TG_PORT:-8080}
up_port=${UPSTREAM_PORT:-3000}
/usr/bin/python3 test/demo/upstream.py "$up_port" &
up_pid=$!
trap 'kill $up_pid 2>/dev/null; kill $tg_pid 2>/dev/null; wait' EXIT INT TERM

build/gateway/tracegate --listen "127.0.0.1:$tg_port" --upstream "http://127.0.0.1:$up_port" &
tg_pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$tg_port/" && break
  sleep 0.05
done
cat <<MSG

tracegate is proxying http://127.0.0.1:$tg_port -> demo upstream on 127.0.0.1:$up_port
Try:
  curl -i http://127.0.0.1:$tg_port/
  curl -N http://127.0.0.1:$tg_port/events
The access log (JSON lines) appears below. Ctrl-C to stop.

MSG
wait $tg_pid
