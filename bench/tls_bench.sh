#!/usr/bin/env bash
# The cost of TLS per request (bench/README.md, "TLS"): two `accel serve` processes with the same settings,
# one plaintext and one with --tls-cert/--tls-key (a throwaway CA and certificate made here with openssl),
# and `accel bench` at concurrency 1 against each, in alternating order round after round:
#   - POST /ai/infer (--api ai) over HTTP and HTTPS, keep-alive;
#   - KServe ModelInfer on <model>-detect (--api grpc) over gRPC and gRPC over TLS;
#   - GET /ai/health on a new connection per request (Python's http.client), HTTP vs HTTPS: the full
#     handshake that clients without keep-alive (Frigate's deepstack detector) pay every time.
# Prints each round's p50 and the median over rounds.
#
#   bench/tls_bench.sh                       # 5 rounds of 10 s per step
#   ROUNDS=3 DURATION=5 bench/tls_bench.sh
# Environment: ACCEL_BIN (build/accel), IMAGE (../shared/testdata/images/000000000139.jpg),
# SIM_DEVICE (the simulated device both servers use: name=sim0,kind=hailo,ms=5), ROUNDS, DURATION.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
accel="${ACCEL_BIN:-$root/build/accel}"
image="${IMAGE:-$root/../shared/testdata/images/000000000139.jpg}"
sim="${SIM_DEVICE:-name=sim0,kind=hailo,ms=5}"
rounds="${ROUNDS:-5}"
duration="${DURATION:-10}"
[[ -x "$accel" ]] || { echo "tls_bench: no $accel (build it first)" >&2; exit 1; }
[[ -f "$image" ]] || { echo "tls_bench: no image $image (set IMAGE)" >&2; exit 1; }

tmp="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# A CA and a server certificate for 127.0.0.1.
(
  cd "$tmp"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n' >server.ext
  openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
    -out server.pem 2>/dev/null
)

serve() {  # name, extra args...
  local name="$1"
  shift
  "$accel" serve --host 127.0.0.1 --port 0 --port-file "$tmp/$name.port" --grpc-port 0 \
    --grpc-port-file "$tmp/$name.grpc" --zmq-endpoint "" --engines sim --sim-device "$sim" "$@" \
    >"$tmp/$name.log" 2>&1 &
  pids+=($!)
}
serve plain
serve tls --tls-cert "$tmp/server.pem" --tls-key "$tmp/server.key"
for name in plain tls; do
  for _ in $(seq 300); do [[ -s "$tmp/$name.port" && -s "$tmp/$name.grpc" ]] && break; sleep 0.1; done
  [[ -s "$tmp/$name.port" ]] || { cat "$tmp/$name.log" >&2; exit 1; }
done
http_port=$(<"$tmp/plain.port") https_port=$(<"$tmp/tls.port")
grpc_port=$(<"$tmp/plain.grpc") grpcs_port=$(<"$tmp/tls.grpc")

p50() {  # accel bench arguments -> p50 ms of the step (fails when any request failed)
  "$accel" bench --image "$image" --concurrency 1 --duration "$duration" --warmup 2 --json --quiet "$@" |
    python3 -c 'import json, sys
s = json.load(sys.stdin)[0]
if s["errors"] or not s["ok"]: sys.exit("errors: %s" % s)
print("%.3f" % s["latency_ms"]["p50"])'
}

new_connection_p50() {  # port, tls (0/1) -> p50 ms of GET /ai/health, each on a new connection
  python3 - "$1" "$2" "$tmp/ca.pem" <<'PY'
import http.client, ssl, statistics, sys, time
port, tls, ca = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3]
context = ssl.create_default_context(cafile=ca) if tls else None
times = []
for i in range(400):
    start = time.perf_counter()
    conn = (http.client.HTTPSConnection("127.0.0.1", port, context=context) if tls
            else http.client.HTTPConnection("127.0.0.1", port))
    conn.request("GET", "/ai/health")
    if conn.getresponse().read() and i >= 50:  # the first 50: warmup
        times.append((time.perf_counter() - start) * 1000)
    conn.close()
print("%.3f" % statistics.median(times))
PY
}

declare -A results
steps=(http https grpc grpcs new-http new-https)
run_step() {
  case "$1" in
    http) p50 --api ai --url "http://127.0.0.1:$http_port" ;;
    https) p50 --api ai --url "https://127.0.0.1:$https_port" --tls-ca "$tmp/ca.pem" ;;
    grpc) p50 --api grpc --grpc-url "127.0.0.1:$grpc_port" ;;
    grpcs) p50 --api grpc --grpc-url "127.0.0.1:$grpcs_port" --grpc-tls --tls-ca "$tmp/ca.pem" ;;
    new-http) new_connection_p50 "$http_port" 0 ;;
    new-https) new_connection_p50 "$https_port" 1 ;;
  esac
}
echo "tls_bench: $rounds rounds, ${duration} s per step, concurrency 1, image $(basename "$image"), sim device $sim"
for ((r = 1; r <= rounds; r++)); do
  order=("${steps[@]}")
  # Every other round in reverse, so that drift on a shared machine does not favour one side.
  ((r % 2 == 0)) && order=(new-https new-http grpcs grpc https http)
  line="round $r:"
  for step in "${order[@]}"; do
    results[$step]+="$(run_step "$step") "
  done
  for step in "${steps[@]}"; do line+=" $step $(awk '{print $NF}' <<<"${results[$step]}")"; done
  echo "$line"
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo
printf '%-32s %-40s %s\n' "p50 ms at concurrency 1" "runs" "median"
label() {
  case "$1" in
    http) echo "POST /ai/infer, HTTP" ;; https) echo "POST /ai/infer, HTTPS" ;;
    grpc) echo "ModelInfer, gRPC" ;; grpcs) echo "ModelInfer, gRPC over TLS" ;;
    new-http) echo "new connection, HTTP" ;; new-https) echo "new connection, HTTPS" ;;
  esac
}
for step in "${steps[@]}"; do
  printf '%-32s %-40s %s\n' "$(label "$step")" "${results[$step]}" "$(median "${results[$step]}")"
done
echo
# Each round ran both sides back to back, so the per-round difference cancels most of the machine's drift.
for pair in "http https" "grpc grpcs" "new-http new-https"; do
  read -r plain tls <<<"$pair"
  diffs=$(paste -d' ' <(tr ' ' '\n' <<<"${results[$plain]}" | grep .) <(tr ' ' '\n' <<<"${results[$tls]}" | grep .) |
    awk '{printf "%+.3f ", $2 - $1}')
  printf '%-32s %-40s %+.3f\n' "TLS adds, $(label "$plain" | sed 's/, HTTP$//; s/, gRPC$//')" "$diffs" \
    "$(median "$(tr -d '+' <<<"$diffs")")"
done
