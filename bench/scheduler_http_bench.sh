#!/usr/bin/env bash
# The scheduler scenarios of bench/scheduler_bench.cc again, but through HTTP (POST /ai/infer with a tiny
# 32x32 PNG, so the machine's 2 cores are not spent on JPEG decoding). Every device is SIMULATED.
# Usage: bench/scheduler_http_bench.sh [build-dir]
#   BENCH_DURATION=10            seconds measured per scenario (after a 2 s warm-up)
#   BENCH_CLIENT=accel|wrk       load generator: `accel bench --api ai` (default) or wrk (-t2, Lua POST)
#   BENCH_CONCURRENCY=N          connections for every scenario (default: 32, and 64 for batching)
#   BENCH_SCENARIOS="homogeneous mixed-auto mixed-rr batching"   which ones to run (default: all four)
# Each line also gives the CPU the server and the client used (percent of one core; 200% is the whole
# 2-core machine), to tell a scheduler gap from a machine that has no CPU left.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
duration="${BENCH_DURATION:-10}"
client="${BENCH_CLIENT:-accel}"
scenarios="${BENCH_SCENARIOS:-homogeneous mixed-auto mixed-rr batching}"
work="$(mktemp -d)"
server=
trap '[[ -n "$server" ]] && kill $server 2>/dev/null; rm -rf "$work"' EXIT

/usr/bin/python3 - "$work/tiny.png" "$work/body.json" <<'PY'
import base64, json, struct, sys, zlib
w = h = 32
def chunk(k, d):
    return struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d) & 0xFFFFFFFF)
raw = b"".join(b"\x00" + bytes(range(w * 3)) for _ in range(h))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
open(sys.argv[1], "wb").write(png)
open(sys.argv[2], "w").write(json.dumps({"image_base64": base64.b64encode(png).decode()}))
PY

# wrk: the same request as `accel bench --api ai`; prints one JSON line like `accel bench --json`'s figures.
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"throughput_rps": %.3f, "latency_ms": {"p50": %.3f, "p99": %.3f}, "errors": %d}\n',
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.status + e.timeout))
end
LUA

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of a process, in clock ticks

run() {  # name capacity concurrency serve-args...
  local name=$1 capacity=$2 conc=${BENCH_CONCURRENCY:-$3}
  shift 3
  [[ " $scenarios " == *" $name "* ]] || return 0
  rm -f "$work/port"
  "$build/accel" serve --host 127.0.0.1 --port 0 --port-file "$work/port" --grpc-port -1 --zmq-endpoint "" \
    --models "$root/models" --engines sim --log-level warn "$@" &
  server=$!
  for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
  local url="http://127.0.0.1:$(cat "$work/port")"
  local t0 c0 times="$work/$name.time" TIMEFORMAT='%U %S'
  if [[ "$client" == wrk ]]; then
    BENCH_BODY="$work/body.json" wrk -t2 -c"$conc" -d2s -s "$work/post.lua" "$url/ai/infer" > /dev/null
    t0=$(date +%s%N); c0=$(cpu_ticks $server)
    { time BENCH_BODY="$work/body.json" wrk -t2 -c"$conc" -d"${duration}s" -s "$work/post.lua" \
        "$url/ai/infer" > "$work/$name.out"; } 2> "$times"
    tail -1 "$work/$name.out" > "$work/$name.json"
  else
    # accel bench's own warm-up (--warmup 2) falls inside the CPU window here; it is short against 10 s.
    t0=$(date +%s%N); c0=$(cpu_ticks $server)
    { time "$build/accel" bench --url "$url" --api ai --image "$work/tiny.png" --concurrency "$conc" \
        --warmup 2 --duration "$duration" --json --quiet > "$work/$name.raw"; } 2> "$times"
    /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[0]))' \
      "$work/$name.raw" > "$work/$name.json"
  fi
  local server_ticks=$(( $(cpu_ticks $server) - c0 )) wall_ns=$(( $(date +%s%N) - t0 ))
  kill $server; wait $server 2>/dev/null || true; server=
  /usr/bin/python3 - "$work/$name.json" "$name" "$capacity" "$conc" "$client" "$server_ticks" \
    "$(getconf CLK_TCK)" "$(cat "$times")" "$wall_ns" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
cap, conc, client = float(sys.argv[3]), sys.argv[4], sys.argv[5]
server_s = int(sys.argv[6]) / int(sys.argv[7])
client_s = sum(float(x) for x in sys.argv[8].split())
wall = int(sys.argv[9]) / 1e9
print("%-20s %s c=%-3s capacity %5.0f/s  achieved %7.1f/s  ratio %.3f  p50 %6.1f ms  p99 %6.1f ms  errors %d"
      "  cpu: server %3.0f%% client %3.0f%%"
      % (sys.argv[2], client, conc, cap, s["throughput_rps"], s["throughput_rps"] / cap, s["latency_ms"]["p50"],
         s["latency_ms"]["p99"], s["errors"], 100 * server_s / wall, 100 * client_s / wall))
PY
}

sim() { echo "--sim-device" "name=$1,kind=sim,ms=$2${3:+,$3}"; }
run homogeneous 800 32 $(sim a 5) $(sim b 5) $(sim c 5) $(sim d 5)
run mixed-auto 600 32 $(sim fast 2) $(sim slow 10)
run mixed-rr 600 32 --round-robin true $(sim fast 2) $(sim slow 10)
run batching 2000 64 $(sim batch 4 per_item_ms=0.25,max_batch=16)
