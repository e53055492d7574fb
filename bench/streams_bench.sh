#!/usr/bin/env bash
# Video streams benchmark (issue 13). Every inference runs on SIMULATED devices (`accel serve --engines sim`:
# a fixed inference time, no model, no detections); the decoding, sampling, scheduling and CPU/memory
# figures are real. Makes a 1280x720 H.264 15 fps clip with the ffmpeg CLI from the test images (objects
# moving over a scene), serves it over RTSP from a GStreamer server (bench/streams_rtsp_server.py, one mount
# per stream), adds the streams through POST /ai/streams and measures them from /metrics, /ai/streams and
# /proc. Prints Markdown tables on stdout (progress on stderr).
#
# Usage: bench/streams_bench.sh [--rss] [build-dir]
#   (default)  STREAMS streams for DURATION s (halves compared), then the ramp: RAMP_BY more streams at a
#              time, RAMP_STEP s each after RAMP_WARMUP s, until a stream's detection fps falls under 95% of
#              FPS or its decoded fps under 95% of the source's (or RAMP_MAX streams)
#   --rss      STREAMS streams for RSS_DURATION s, VmRSS every RSS_INTERVAL s
# Environment (defaults): DURATION=120 STREAMS=4 FPS=5 SIM_MS=20 SIM_DEVICES=4 WARMUP=15 RAMP_BY=2
#   RAMP_STEP=30 RAMP_WARMUP=10 RAMP_MAX=32 RSS_DURATION=600 RSS_INTERVAL=10 BENCH_JSON=FILE (all figures)
#   ACCEL_SHARED_DIR (test images in testdata/images; default ../shared beside the checkout)
# Needs ffmpeg, python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-good and -bad (scripts/setup --test).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=()
if [[ "${1:-}" == "--rss" ]]; then mode=(--rss); shift; fi
build="${1:-$root/build}"
shared="${ACCEL_SHARED_DIR:-$root/../shared}"
extra=()
[[ -n "${BENCH_JSON:-}" ]] && extra=(--json "$BENCH_JSON")
exec /usr/bin/python3 "$root/bench/streams_bench.py" "${mode[@]}" "${extra[@]}" \
  --accel "$build/accel" --images "$shared/testdata/images" \
  --streams "${STREAMS:-4}" --fps "${FPS:-5}" --duration "${DURATION:-120}" --warmup "${WARMUP:-15}" \
  --sim-ms "${SIM_MS:-20}" --sim-devices "${SIM_DEVICES:-4}" --ramp-by "${RAMP_BY:-2}" \
  --ramp-step "${RAMP_STEP:-30}" --ramp-warmup "${RAMP_WARMUP:-10}" --ramp-max "${RAMP_MAX:-32}" \
  --rss-duration "${RSS_DURATION:-600}" --rss-interval "${RSS_INTERVAL:-10}"
