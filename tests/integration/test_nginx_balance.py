"""Several Accel instances behind real nginx (deploy/nginx/accel.conf with free ports), on SIMULATED devices:
`accel bench` holds a fixed request rate through nginx for 20 s while one instance is SIGKILLed and started
again and another is SIGTERMed (graceful drain) and started again. Client-visible errors must be 0; p50/p99
and the error count are printed. A short gRPC run through nginx's grpc_pass checks the gRPC upstream."""
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from accel_testlib import fail, tiny_png
from nginx_testlib import Instance, Nginx, free_port, render_accel_conf

RATE = 60
DURATION = 20
# A 20 ms simulated device per instance, batches of up to 4: far more capacity than the load needs, so that
# the test measures errors, not overload.
SIM_ARGS = ["--engines", "sim", "--sim-device", "name=d,kind=sim,ms=20,max_batch=4", "--drain-timeout-s", "10"]

problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
        print("FAIL:", msg, flush=True)




def bench(args, timeout):
    bin_ = os.environ["ACCEL_BIN"]
    out = subprocess.run([bin_, "bench"] + args + ["--json", "--quiet"], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode not in (0, 1):
        fail("accel bench failed (%d): %s" % (out.returncode, out.stderr[-2000:]))
    try:
        return json.loads(out.stdout)[0]
    except (ValueError, IndexError):
        fail("accel bench printed no JSON: %r %s" % (out.stdout[-500:], out.stderr[-2000:]))


def sleep_until(t):
    # The events of the run are placed at fixed times of the 20 s load: this is a schedule, not a wait
    # for a condition.
    time.sleep(max(0.0, t - time.time()))


def main():
    tmp = tempfile.mkdtemp(prefix="accel-balance-")
    image = os.path.join(tmp, "tiny.png")
    with open(image, "wb") as f:
        f.write(tiny_png(32, 32))
    instances = [Instance("accel-%d" % i, SIM_ARGS) for i in range(3)]
    try:
        for inst in instances:
            inst.start()
        http_port, grpc_port = free_port(), free_port()
        conf = render_accel_conf(["127.0.0.1:%d" % i.http_port for i in instances],
                                 ["127.0.0.1:%d" % i.grpc_port for i in instances], http_port, grpc_port)
        with Nginx(http_conf=conf, watch_ports=(http_port, grpc_port)) as nginx:
            grpc = bench(["--api", "grpc", "--grpc-url", "127.0.0.1:%d" % grpc_port, "--image", image,
                          "--concurrency", "2", "--duration", "1", "--timeout", "10"], 60)
            print("gRPC through nginx: %d requests, %d errors %s" % (grpc["requests"], grpc["errors"], grpc["codes"]))
            check(grpc["requests"] > 0 and grpc["errors"] == 0, "gRPC through nginx failed: %s" % grpc)

            load = subprocess.Popen(
                [os.environ["ACCEL_BIN"], "bench", "--url", "http://127.0.0.1:%d" % http_port, "--api", "deepstack",
                 "--image", image, "--rate", str(RATE), "--duration", str(DURATION), "--timeout", "15", "--json",
                 "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            start = time.time()

            sleep_until(start + 4)
            victim = instances[1]
            victim.signal(signal.SIGKILL)
            check(victim.wait(10) == -signal.SIGKILL, "instance 1 did not die of SIGKILL")
            print("%.1f s: instance 1 SIGKILLed" % (time.time() - start), flush=True)
            sleep_until(start + 6)
            victim.start()
            print("%.1f s: instance 1 started again" % (time.time() - start), flush=True)

            sleep_until(start + 10)
            drained = instances[2]
            drained.signal(signal.SIGTERM)
            code = drained.wait(20)
            print("%.1f s: instance 2 SIGTERMed, exit code %s" % (time.time() - start, code), flush=True)
            check(code == 0, "instance 2 exit code after SIGTERM: %s (want 0)" % code)
            log = drained.log_text()
            for line in log.splitlines():
                if "draining" in line or "drained" in line:
                    print("  instance 2: " + line.split(" ", 1)[-1])
            check("drained: every request in flight was answered" in log,
                  "instance 2 did not report a complete drain:\n" + log[-1500:])
            drained.start()
            print("%.1f s: instance 2 started again" % (time.time() - start), flush=True)

            stdout, stderr = load.communicate(timeout=DURATION + 60)
            try:
                result = json.loads(stdout)[0]
            except (ValueError, IndexError):
                fail("accel bench printed no JSON: %r %s" % (stdout[-500:], stderr[-2000:]))
            lat = result["latency_ms"]
            print("through nginx, %d req/s for %d s: %d requests, %d ok, %d errors %s; p50 %.1f ms, p99 %.1f ms, "
                  "max %.1f ms" % (RATE, DURATION, result["requests"], result["ok"], result["errors"],
                                   result["codes"], lat["p50"], lat["p99"], lat["max"]), flush=True)
            check(result["errors"] == 0, "client-visible errors: %d (%s, first: %s)" %
                  (result["errors"], result["codes"], result.get("first_error")))
            check(result["requests"] >= 0.8 * RATE * DURATION,
                  "only %d requests at %d req/s for %d s" % (result["requests"], RATE, DURATION))
            retried = nginx.error_log().count("while connecting to upstream") + \
                nginx.error_log().count("while reading response header from upstream")
            print("nginx logged %d upstream failures it retried elsewhere" % retried)

            # No instance left: nginx's own answer is Accel-like, a JSON 503 with Retry-After.
            for inst in instances:
                inst.stop()
            conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
            conn.request("POST", "/v1/vision/detection", body=b"x", headers={"Content-Type": "image/png"})
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
            print("all instances down: %d, Retry-After %s, %s" % (resp.status, resp.getheader("Retry-After"), body))
            check(resp.status == 503 and resp.getheader("Retry-After") == "1" and
                  json.loads(body).get("success") is False, "nginx's answer with every instance down")
    finally:
        for inst in instances:
            inst.stop()
    if problems:
        fail("%d problem(s): %s" % (len(problems), problems))
    print("OK")


main()
sys.exit(0)
