#!/usr/bin/env bash
# The scheduler scenarios of bench/scheduler_bench.cc again, but through HTTP (POST /ai/infer with a tiny
# 32x32 PNG, so the machine's 2 cores are not spent on JPEG decoding). Every device is SIMULATED.
# Usage: bench/scheduler_http_bench.sh [build-dir]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
duration="${BENCH_DURATION:-10}"
work="$(mktemp -d)"
server=
trap '[[ -n "$server" ]] && kill $server 2>/dev/null; rm -rf "$work"' EXIT

/usr/bin/python3 - "$work/tiny.png" <<'PY'
import struct, sys, zlib
w = h = 32
def chunk(k, d):
    return struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d) & 0xFFFFFFFF)
raw = b"".join(b"\x00" + bytes(range(w * 3)) for _ in range(h))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY

run() {  # name capacity concurrency serve-args...
  local name=$1 capacity=$2 conc=$3
  shift 3
  rm -f "$work/port"
  "$build/accel" serve --host 127.0.0.1 --port 0 --port-file "$work/port" --grpc-port -1 --zmq-endpoint "" \
    --models "$root/models" --engines sim --log-level warn "$@" &
  server=$!
  for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
  "$build/accel" bench --url "http://127.0.0.1:$(cat "$work/port")" --api ai --image "$work/tiny.png" \
    --concurrency "$conc" --warmup 2 --duration "$duration" --json --quiet > "$work/$name.json"
  kill $server; wait $server 2>/dev/null || true; server=
  /usr/bin/python3 - "$work/$name.json" "$name" "$capacity" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))[0]
cap = float(sys.argv[3])
print("%-28s capacity %5.0f/s  achieved %7.1f/s  ratio %.3f  p50 %6.1f ms  p99 %6.1f ms  errors %d"
      % (sys.argv[2], cap, s["throughput_rps"], s["throughput_rps"] / cap, s["latency_ms"]["p50"],
         s["latency_ms"]["p99"], s["errors"]))
PY
}

sim() { echo "--sim-device" "name=$1,kind=sim,ms=$2${3:+,$3}"; }
run homogeneous-4x5ms 800 32 $(sim a 5) $(sim b 5) $(sim c 5) $(sim d 5)
run mixed-auto-2ms+10ms 600 32 $(sim fast 2) $(sim slow 10)
run mixed-roundrobin 600 32 --round-robin true $(sim fast 2) $(sim slow 10)
run batching-b16 2000 64 $(sim batch 4 per_item_ms=0.25,max_batch=16)
