#!/usr/bin/env bash
# Issue-2 service benchmarks, all in one run so that the ratios compare like with like:
#   (a) /v1/vision/detection throughput at concurrency 2 vs the raw in-process loop (pipeline_bench)
#   (b) added latency at concurrency 1: service p50 - raw p50
#   (c) GET /ai/health over 64 keep-alive connections (wrk)
#   (d) resident memory of the server after a minute of load
# Usage: bench/core_bench.sh [build-dir]   (needs wrk; run after scripts/setup)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
shared="${ACCEL_SHARED_DIR:-$root/../shared}"
duration="${BENCH_DURATION:-20}"
work="$(mktemp -d)"
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

img="$work/bench640x480.jpg"
"$build/bench/pipeline_bench" --make-jpeg "$shared/testdata/images/000000000632.jpg" "$img" 640x480

echo "== raw in-process loop (decode + letterbox + cpu engine + decode), 1 thread"
"$build/bench/pipeline_bench" --models "$root/models" --image "$img" --iterations "${RAW_ITERATIONS:-150}" \
  | tee "$work/raw.json"

"$build/accel" serve --host 127.0.0.1 --port 0 --port-file "$work/port" --grpc-port -1 --zmq-endpoint "" \
  --models "$root/models" --log-level warn &
server=$!
for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
port=$(cat "$work/port")
url="http://127.0.0.1:$port"

# (b) alternates short raw and service blocks so that both see the same machine state; the figure is the
# median over the pairs of (service p50 - raw p50).
echo "== added latency at concurrency 1: ${PAIRS:-5} alternating pairs (raw loop block, service block)"
for pair in $(seq "${PAIRS:-5}"); do
  "$build/bench/pipeline_bench" --models "$root/models" --image "$img" --iterations 60 --warmup 3 > "$work/raw_$pair.json"
  "$build/accel" bench --url "$url" --api deepstack --image "$img" --concurrency 1 --warmup 1 \
    --duration 3 --json --quiet > "$work/svc_$pair.json"
  echo "pair $pair: raw $(cat "$work/raw_$pair.json")"
done
echo "== service, /v1/vision/detection, concurrency 2 (throughput)"
"$build/accel" bench --url "$url" --api deepstack --image "$img" --concurrency 2 --warmup 3 \
  --duration "$duration" --json | tee "$work/c2.json"

echo "== GET /ai/health, wrk -t2 -c64 -d10s"
wrk -t2 -c64 -d10s "$url/ai/health" | tee "$work/wrk.txt"

echo "== resident memory after a minute of load (concurrency 2)"
"$build/accel" bench --url "$url" --api deepstack --image "$img" --concurrency 2 --duration 60 --json > /dev/null
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
echo "VmRSS: $((rss_kb / 1024)) MB"

/usr/bin/python3 - "$work" "$rss_kb" <<'PY'
import json, re, sys
work, rss_kb = sys.argv[1], int(sys.argv[2])
raw = json.load(open(work + "/raw.json"))
def step(path):
    data = json.load(open(path))
    s = data[0] if isinstance(data, list) else data
    return {"throughput": s["throughput_rps"], "p50_ms": s["latency_ms"]["p50"]}
import glob, statistics
c2 = step(work + "/c2.json")
pairs = sorted(glob.glob(work + "/raw_*.json"))
diffs = []
for raw_path in pairs:
    n = raw_path.rsplit("_", 1)[1]
    r = json.load(open(raw_path))["p50_ms"]
    s = step(work + "/svc_" + n)["p50_ms"]
    diffs.append(s - r)
    print("  pair %s: service p50 %.2f ms - raw p50 %.2f ms = %+.2f ms" % (n.split(".")[0], s, r, s - r))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", open(work + "/wrk.txt").read()).group(1))
print("\nsummary")
print("  (a) throughput c=2: service %.2f/s vs raw %.2f/s -> %.1f%% (target >= 90%%)"
      % (c2["throughput"], raw["images_per_s"], 100 * c2["throughput"] / raw["images_per_s"]))
print("  (b) added latency at c=1, median of %d pairs: %+.2f ms (target <= 2 ms)" % (len(diffs), statistics.median(diffs)))
print("  (c) /ai/health: %.0f req/s over 64 connections (target >= 20000)" % rps)
print("  (d) RSS after a minute of load: %.0f MB (target <= 200 MB)" % (rss_kb / 1024))
PY
