#!/usr/bin/env bash
# Aggregate throughput of 3 Accel instances behind nginx against 1, with SIMULATED devices slow enough that
# device capacity, not this machine's CPU, is the limit (issue 11). nginx runs the shipped
# deploy/nginx/accel.conf with only its upstream servers and listen ports replaced (as the integration test
# does); every instance has one sim device of BENCH_SIM_MS per request (batch 1; it takes the next request
# while one runs, in_flight=2, so it never idles between requests), so one instance can do at
# most 1000/BENCH_SIM_MS requests/s. `accel bench --api deepstack` (closed loop, a tiny PNG) drives nginx.
# Configurations are measured alternately, BENCH_TRIALS times each; medians are printed.
# Usage: bench/nginx_scale_bench.sh [build-dir]
#   BENCH_SIM_MS=25 BENCH_CONCURRENCY=24 BENCH_DURATION=10 BENCH_TRIALS=3
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
export ACCEL_BIN="$build/accel" ACCEL_MODELS="$root/models"
export BENCH_SIM_MS="${BENCH_SIM_MS:-25}" BENCH_CONCURRENCY="${BENCH_CONCURRENCY:-24}"
export BENCH_DURATION="${BENCH_DURATION:-10}" BENCH_TRIALS="${BENCH_TRIALS:-3}"
PYTHONPATH="$root/tests/integration" PYTHONDONTWRITEBYTECODE=1 exec /usr/bin/python3 - <<'PY'
import json, os, statistics, struct, subprocess, tempfile, zlib
from nginx_testlib import Instance, Nginx, free_port, render_accel_conf

ms, conc = float(os.environ["BENCH_SIM_MS"]), int(os.environ["BENCH_CONCURRENCY"])
duration, trials = os.environ["BENCH_DURATION"], int(os.environ["BENCH_TRIALS"])
work = tempfile.mkdtemp(prefix="accel-scale-bench-")
image = os.path.join(work, "tiny.png")
def chunk(k, d):
    return struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d) & 0xFFFFFFFF)
raw = b"".join(b"\x00" + bytes(range(32 * 3)) for _ in range(32))
open(image, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0))
                        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

args = ["--engines", "sim", "--sim-device", "name=d,kind=sim,ms=%g,max_batch=1,in_flight=2" % ms, "--log-level", "warn"]
instances = [Instance("accel-%d" % i, args) for i in range(3)]
for inst in instances:
    inst.start()

def bench(port):
    out = subprocess.run([os.environ["ACCEL_BIN"], "bench", "--url", "http://127.0.0.1:%d" % port, "--api",
                          "deepstack", "--image", image, "--concurrency", str(conc), "--duration", duration,
                          "--warmup", "2", "--timeout", "30", "--json", "--quiet"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]

def behind_nginx(members):
    http_port, grpc_port = free_port(), free_port()
    conf = render_accel_conf(["127.0.0.1:%d" % i.http_port for i in members],
                             ["127.0.0.1:%d" % i.grpc_port for i in members], http_port, grpc_port)
    with Nginx(http_conf=conf, watch_ports=(http_port,)):
        return bench(http_port)

results = {"1 instance, direct": [], "1 instance behind nginx": [], "3 instances behind nginx": []}
try:
    for trial in range(trials):
        for name, run in (("1 instance, direct", lambda: bench(instances[0].http_port)),
                          ("1 instance behind nginx", lambda: behind_nginx(instances[:1])),
                          ("3 instances behind nginx", lambda: behind_nginx(instances))):
            r = run()
            results[name].append(r)
            print("trial %d  %-26s %7.1f req/s  p50 %7.1f ms  p99 %7.1f ms  errors %d" %
                  (trial + 1, name, r["throughput_rps"], r["latency_ms"]["p50"], r["latency_ms"]["p99"],
                   r["errors"]), flush=True)
finally:
    for inst in instances:
        inst.stop()

capacity = 1000.0 / ms
print("\nsim device %g ms per request (at most %.1f req/s per instance), concurrency %d, %s s per run, "
      "%d trials; medians:" % (ms, capacity, conc, duration, trials))
med = {}
for name, runs in results.items():
    med[name] = statistics.median(r["throughput_rps"] for r in runs)
    print("  %-26s %7.1f req/s (%.0f%% of its devices' capacity), p50 %.1f ms, errors %d" %
          (name, med[name], 100 * med[name] / (capacity * (3 if name.startswith("3") else 1)),
           statistics.median(r["latency_ms"]["p50"] for r in runs), sum(r["errors"] for r in runs)))
print("  3 behind nginx / 1 behind nginx: %.2fx   3 behind nginx / 1 direct: %.2fx" %
      (med["3 instances behind nginx"] / med["1 instance behind nginx"],
       med["3 instances behind nginx"] / med["1 instance, direct"]))
PY
