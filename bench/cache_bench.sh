#!/usr/bin/env bash
# The result cache's hit cost (bench/README.md, "Result cache"): three `accel serve` processes on the cpu
# engine and the default model, and `accel bench --api deepstack` (multipart POST /v1/vision/detection, one
# keep-alive connection) at concurrency 1 with the same 640x480 JPEG against each, the order reversed every
# other round:
#   - off:    no cache: every request runs the model (what a miss costs, less the hash and store);
#   - memory: --cache true: after the first request every request is an in-process hit;
#   - redis:  --cache true --cache-memory-mb 0 --redis-url ...: nothing kept in memory, every request after
#             the first is a Redis hit (a redis-server started here on a free port, loopback).
# Each server's X-Accel-Cache is checked before measuring. Prints each round's p50 and the median over rounds.
#
#   bench/cache_bench.sh                      # 5 rounds of 10 s per step
#   ROUNDS=3 DURATION=5 bench/cache_bench.sh
# Environment: ACCEL_BIN (build/accel), SOURCE_IMAGE (../shared/testdata/images/000000000632.jpg, cropped
# to 640x480 here with python3-pil), ROUNDS, DURATION, PYTHON3 (/usr/bin/python3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
accel="${ACCEL_BIN:-$root/build/accel}"
source_image="${SOURCE_IMAGE:-$root/../shared/testdata/images/000000000632.jpg}"
rounds="${ROUNDS:-5}"
py="${PYTHON3:-/usr/bin/python3}"  # Debian's, which has python3-pil
duration="${DURATION:-10}"
[[ -x "$accel" ]] || { echo "cache_bench: no $accel (build it first)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "cache_bench: redis-server is not installed" >&2; exit 1; }

tmp="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

image="$tmp/bench-640x480.jpg"
"$py" - "$source_image" "$image" <<'PY'
import sys
from PIL import Image
Image.open(sys.argv[1]).convert("RGB").crop((0, 0, 640, 480)).save(sys.argv[2], quality=90)
PY

redis_port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)

serve() {  # name, extra args...
  local name="$1"
  shift
  "$accel" serve --host 127.0.0.1 --port 0 --port-file "$tmp/$name.port" --grpc-port -1 --zmq-endpoint "" \
    --engines cpu "$@" >"$tmp/$name.log" 2>&1 &
  pids+=($!)
}
serve off
serve memory --cache true
serve redis --cache true --cache-memory-mb 0 --redis-url "redis://127.0.0.1:$redis_port"
declare -A port
for name in off memory redis; do
  for _ in $(seq 600); do [[ -s "$tmp/$name.port" ]] && break; sleep 0.1; done
  [[ -s "$tmp/$name.port" ]] || { cat "$tmp/$name.log" >&2; exit 1; }
  port[$name]=$(<"$tmp/$name.port")
done

# Two requests each; the second must say what the step measures.
for name in off memory redis; do
  want=$([[ $name == off ]] && echo bypass || echo hit)
  for _ in $(seq 50); do
    got=$(curl -s -o /dev/null -D - -F "image=@$image;type=image/jpeg" \
      "http://127.0.0.1:${port[$name]}/v1/vision/detection" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-accel-cache" {print $2}')
    [[ $got == "$want" ]] && break
    sleep 0.1
  done
  [[ $got == "$want" ]] || { echo "cache_bench: $name answers X-Accel-Cache: $got, not $want" >&2; cat "$tmp/$name.log" >&2; exit 1; }
done

p50() {  # port -> p50 ms of the step (fails when any request failed)
  "$accel" bench --api deepstack --url "http://127.0.0.1:$1" --image "$image" --concurrency 1 \
    --duration "$duration" --warmup 1 --json --quiet |
    "$py" -c 'import json, sys
s = json.load(sys.stdin)[0]
if s["errors"] or not s["ok"]: sys.exit("errors: %s" % s)
print("%.3f" % s["latency_ms"]["p50"])'
}

declare -A results
steps=(off memory redis)
echo "cache_bench: $rounds rounds, ${duration} s per step, concurrency 1, 640x480 JPEG ($(stat -c %s "$image") bytes), cpu engine"
for ((r = 1; r <= rounds; r++)); do
  order=("${steps[@]}")
  ((r % 2 == 0)) && order=(redis memory off)
  line="round $r:"
  for step in "${order[@]}"; do results[$step]+="$(p50 "${port[$step]}") "; done
  for step in "${steps[@]}"; do line+=" $step $(awk '{print $NF}' <<<"${results[$step]}")"; done
  echo "$line"
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo
printf '%-40s %-48s %s\n' "p50 ms at concurrency 1" "rounds" "median"
for step in "${steps[@]}"; do
  case "$step" in
    off) label="no cache (inference every request)" ;;
    memory) label="hit, in-process memory" ;;
    redis) label="hit, Redis (memory level 0 MB)" ;;
  esac
  printf '%-40s %-48s %s\n' "$label" "${results[$step]}" "$(median "${results[$step]}")"
done
echo
echo "server side (accel_request_duration_seconds, mean over everything each server answered):"
for step in "${steps[@]}"; do
  curl -s "http://127.0.0.1:${port[$step]}/metrics" | awk -v name="$step" '
    /^accel_request_duration_seconds_sum/ {s += $NF} /^accel_request_duration_seconds_count/ {c += $NF}
    END {printf "  %-8s %.3f ms over %d requests\n", name, (c ? 1000 * s / c : 0), c}'
done
