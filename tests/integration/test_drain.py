"""Graceful stop of `accel serve` on SIGTERM, on SIMULATED devices with a known latency: requests in flight
when the signal arrives are all answered (200), new connections are refused, the exit code is 0; a request
that outlives --drain-timeout-s does not keep the process alive much longer; a second signal exits at once."""
import base64
import json
import signal
import socket
import threading
import time

from accel_testlib import Server, fail, tiny_png

problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
        print("FAIL:", msg, flush=True)




BODY = json.dumps({"image_base64": base64.b64encode(tiny_png()).decode()}).encode()


def held_requests(server):
    """Requests the scheduler holds (queued or on a device), from /ai/engines."""
    _, _, data = server.request("GET", "/ai/engines")
    held = 0
    for engine in json.loads(data)["engines"]:
        for d in engine.get("devices", []):
            held += d.get("queue_depth", 0) + d.get("in_flight", 0)
    return held


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except OSError:
        return True


def wait_exit(server, limit):
    start = time.time()
    try:
        code = server.proc.wait(timeout=limit)
    except Exception:
        return None, time.time() - start
    return code, time.time() - start


def in_flight_answered():
    # One batch at a time of 400 ms: 6 requests take about 2.4 s, well inside the drain timeout.
    # gRPC on as well: its listener is drained beside HTTP's.
    with Server("--engines", "sim", "--sim-device", "name=slow,kind=sim,ms=400", "--grpc-port", "0",
                "--drain-timeout-s", "20", "--execution-timeout-ms", "60000") as server:
        results = []
        lock = threading.Lock()

        def client():
            try:
                st, headers, _ = server.request("POST", "/ai/infer", BODY, {"Content-Type": "application/json"})
                with lock:
                    results.append((st, headers.get("connection", "")))
            except Exception as e:  # noqa: BLE001 - any failure is a client-visible error
                with lock:
                    results.append((repr(e), ""))

        threads = [threading.Thread(target=client) for _ in range(6)]
        for t in threads:
            t.start()
        deadline = time.time() + 20
        while held_requests(server) < 6 and time.time() < deadline:
            time.sleep(0.02)
        check(held_requests(server) >= 6, "the 6 requests did not reach the scheduler")
        signal_at = time.time()
        server.proc.send_signal(signal.SIGTERM)
        # The listener closes at once: new connections are refused while the old requests still run.
        deadline = time.time() + 5
        while not refused(server.port) and time.time() < deadline:
            time.sleep(0.02)
        check(refused(server.port), "a new connection was accepted after SIGTERM")
        check(server.alive(), "the server exited before its requests in flight were answered")
        for t in threads:
            t.join(30)
        code, took = wait_exit(server, 30)
        print("in flight: %s; exit code %s, %.2f s after SIGTERM" % (results, code, time.time() - signal_at))
        check(len(results) == 6 and all(st == 200 for st, _ in results),
              "requests in flight at SIGTERM were not all answered 200: %s" % results)
        check(all(conn.lower() == "close" for _, conn in results),
              "answers during the drain should carry Connection: close: %s" % results)
        check(code == 0, "exit code after a drain: %s (want 0)" % code)
        log = server.log_text()
        check("drained: every request in flight was answered" in log, "the log does not report the drain")


def drain_timeout_bounds_exit():
    # The device hangs on its first batch: the request outlives the 1 s drain timeout.
    with Server("--engines", "sim", "--sim-device", "name=hung,kind=sim,ms=5,hang_after=0",
                "--drain-timeout-s", "1", "--execution-timeout-ms", "60000") as server:
        outcome = []

        def client():
            try:
                st, _, _ = server.request("POST", "/ai/infer", BODY, {"Content-Type": "application/json"},
                                          timeout=30)
                outcome.append(st)
            except Exception as e:  # noqa: BLE001
                outcome.append(type(e).__name__)

        t = threading.Thread(target=client)
        t.start()
        deadline = time.time() + 20
        while held_requests(server) < 1 and time.time() < deadline:
            time.sleep(0.02)
        server.proc.send_signal(signal.SIGTERM)
        code, took = wait_exit(server, 15)
        t.join(15)
        print("hung request: %s; exit code %s after %.2f s (drain timeout 1 s)" % (outcome, code, took))
        check(code == 0, "exit code after the drain timeout: %s (want 0)" % code)
        check(took < 5, "exit took %.1f s with a 1 s drain timeout" % took)
        check(outcome and outcome[0] != 200, "the hung request cannot have succeeded: %s" % outcome)


def second_signal_exits_at_once():
    with Server("--engines", "sim", "--sim-device", "name=hung,kind=sim,ms=5,hang_after=0",
                "--drain-timeout-s", "60", "--execution-timeout-ms", "60000") as server:
        t = threading.Thread(target=lambda: _quiet(server.request, "POST", "/ai/infer", BODY,
                                                   {"Content-Type": "application/json"}, 30))
        t.start()
        deadline = time.time() + 20
        while held_requests(server) < 1 and time.time() < deadline:
            time.sleep(0.02)
        server.proc.send_signal(signal.SIGTERM)
        deadline = time.time() + 10
        while "draining" not in server.log_text() and time.time() < deadline:
            time.sleep(0.02)
        server.proc.send_signal(signal.SIGINT)
        code, took = wait_exit(server, 10)
        t.join(15)
        print("second signal: exit code %s after %.2f s" % (code, took))
        check(code is not None and took < 5, "a second signal did not end the process at once")
        check(code != 0, "an interrupted drain should not exit 0 (got %s)" % code)


def _quiet(fn, *args):
    try:
        fn(*args)
    except Exception:  # noqa: BLE001
        pass


in_flight_answered()
drain_timeout_bounds_exit()
second_signal_exits_at_once()
if problems:
    fail("%d problem(s): %s" % (len(problems), problems))
print("OK")
