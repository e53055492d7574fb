#!/usr/bin/env bash
# Does scraping /metrics every second slow inference? Alternates runs without and with a scraper (curl once a
# second) against one server, /v1/vision/detection at concurrency 2 with a 640x480 JPEG on the cpu engine,
# and prints the throughput of each run and the median ratio.
# Usage: bench/metrics_scrape_bench.sh [build-dir]   (env: ROUNDS=3, BENCH_DURATION=15)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
shared="${ACCEL_SHARED_DIR:-$root/../shared}"
work="$(mktemp -d)"
server=
scraper=
trap '[[ -n "$scraper" ]] && kill $scraper 2>/dev/null; [[ -n "$server" ]] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
"$build/bench/pipeline_bench" --make-jpeg "$shared/testdata/images/000000000632.jpg" "$work/img.jpg" 640x480
"$build/accel" serve --host 127.0.0.1 --port 0 --port-file "$work/port" --grpc-port -1 --zmq-endpoint "" \
  --models "$root/models" --engines cpu --log-level warn &
server=$!
for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$work/port")"
bench() {
  "$build/accel" bench --url "$url" --api deepstack --image "$work/img.jpg" --concurrency 2 --warmup 2 \
    --duration "${BENCH_DURATION:-15}" --json --quiet | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["throughput_rps"])'
}
ratios=()
for round in $(seq "${ROUNDS:-3}"); do
  without=$(bench)
  ( while true; do curl -s -o /dev/null "$url/metrics"; sleep 1; done ) &
  scraper=$!
  with=$(bench)
  kill $scraper; wait $scraper 2>/dev/null || true; scraper=
  ratio=$(/usr/bin/python3 -c "print(round($with / $without, 4))")
  ratios+=("$ratio")
  echo "round $round: without scraper $without/s, with scraper $with/s, ratio $ratio"
done
/usr/bin/python3 -c "import statistics,sys; print('median ratio with/without:', statistics.median(map(float, sys.argv[1:])))" "${ratios[@]}"
echo "scrape size: $(curl -s "$url/metrics" | wc -c) bytes"
