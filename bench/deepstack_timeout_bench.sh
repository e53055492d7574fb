#!/usr/bin/env bash
# Frigate's deepstack detector against the cpu engine (bench/README.md, "Frigate's deepstack client at 10
# requests/s"): Frigate posts each frame to /v1/vision/detection and gives up after 0.1 s. One `accel
# serve` at a time (so each has the machine to itself), on the cpu engine at 2 threads, first as the cpu
# engine was before issue 17 (OpenCV, the model file as it is: --cpu-graph-rewrite false --cpu-runtime
# opencv), then with the defaults; `accel bench --api deepstack` holds 10 requests/s for DURATION seconds
# on four 320x320 crops of the test images (what Frigate sends: its detection region), timeout 0.1 s.
# Prints, per variant: requests, answered within 0.1 s, timeouts and other failures, p50/p99 of the answered.
#
#   bench/deepstack_timeout_bench.sh
#   RATE=10 DURATION=20 bench/deepstack_timeout_bench.sh
# Environment: ACCEL_BIN (build/accel), IMAGES (../shared/testdata/images), RATE, DURATION, PYTHON3.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
accel="${ACCEL_BIN:-$root/build/accel}"
images="${IMAGES:-$root/../shared/testdata/images}"
rate="${RATE:-10}"
duration="${DURATION:-20}"
py="${PYTHON3:-/usr/bin/python3}"  # Debian's, which has python3-pil
[[ -x "$accel" ]] || { echo "deepstack_timeout_bench: no $accel (build it first)" >&2; exit 1; }

tmp="$(mktemp -d)"
pid=""
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# Four 320x320 crops around the middle of the first four test images.
"$py" - "$images" "$tmp" <<'PY'
import os, sys
from PIL import Image
src, out = sys.argv[1], sys.argv[2]
names = sorted(n for n in os.listdir(src) if n.lower().endswith(".jpg"))[:4]
for i, name in enumerate(names):
    im = Image.open(os.path.join(src, name)).convert("RGB")
    w, h = im.size
    s = min(w, h, 320)
    left, top = (w - s) // 2, (h - s) // 2
    im.crop((left, top, left + s, top + s)).resize((320, 320)).save(os.path.join(out, "crop%d.jpg" % i), quality=90)
PY
image_args=()
for f in "$tmp"/crop*.jpg; do image_args+=(--image "$f"); done

run_variant() {  # label, serve args...
  local label="$1"
  shift
  rm -f "$tmp/port"
  "$accel" serve --host 127.0.0.1 --port 0 --port-file "$tmp/port" --grpc-port -1 --zmq-endpoint "" \
    --engines cpu --cpu-threads 2 "$@" >"$tmp/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do [[ -s "$tmp/port" ]] && break; sleep 0.1; done
  [[ -s "$tmp/port" ]] || { cat "$tmp/serve.log" >&2; exit 1; }
  local port
  port=$(<"$tmp/port")
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && break
    sleep 0.1
  done
  local runtime
  runtime=$(grep -o 'runtime [a-z]*: .*' "$tmp/serve.log" | head -1)
  "$accel" bench --api deepstack --url "http://127.0.0.1:$port" "${image_args[@]}" --rate "$rate" \
    --timeout 0.1 --duration "$duration" --warmup 2 --concurrency 4 --json --quiet >"$tmp/result.json"
  "$py" - "$label" "$runtime" "$tmp/result.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[3]))[0]
codes = s.get("codes", {})
other = s["errors"] - codes.get("transport", 0)
lat = s["latency_ms"]
p50 = "%.1f" % lat["p50"] if s["ok"] else "-"
p99 = "%.1f" % lat["p99"] if s["ok"] else "-"
print("| %s | %d | %d | %d | %d | %s | %s |" % (sys.argv[1], s["requests"], s["ok"], codes.get("transport", 0),
                                                other, p50, p99))
print("   (%s; codes %s)" % (sys.argv[2] or "runtime not logged", json.dumps(codes)), file=sys.stderr)
PY
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
}

echo "deepstack_timeout_bench: $rate requests/s for $duration s, timeout 0.1 s, 4 x 320x320 JPEG, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| cpu engine | requests | answered within 0.1 s | timeouts | other failures | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|---|"
run_variant "before issue 17 (OpenCV, graph as it is)" --cpu-graph-rewrite false --cpu-runtime opencv
run_variant "default"
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
