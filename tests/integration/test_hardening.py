"""Regression tests for remote crashes and undefined behaviour found by attacking the real server (issue 14's
findings table). Each attack goes to `accel serve` over its real front end; after each, the process must be
alive and answer /ai/health. Each case failed on the release before the fix: the zmq ones aborted the
process, the deep-JSON ones overflowed an I/O thread's stack."""
import json
import os
import socket
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from accel_testlib import IMAGES, Server, fail, multipart  # noqa: E402

import zmq  # noqa: E402  (Debian's python3-zmq)

IMAGE = os.path.join(IMAGES, "000000000139.jpg")
failures = []


def check(cond, msg):
    if cond:
        print("ok   " + msg, flush=True)
    else:
        print("FAIL " + msg, flush=True)
        failures.append(msg)


def still_serving(server, after):
    if not server.alive():
        server.dump_log()
        fail("the server died after: " + after)
    status, _, _ = server.request("GET", "/ai/health", timeout=10)
    check(status == 200, "still serving after " + after)


def expect_4xx_json(server, what, status, data):
    body = {}
    try:
        body = json.loads(data)
    except ValueError:
        pass
    check(400 <= status < 500 and isinstance(body, dict) and body.get("error"),
          "%s -> %d %s" % (what, status, data[:120]))


def deep_json(depth, leaf='"x"'):
    return "[" * depth + leaf + "]" * depth


def http_attacks(server):
    # Deeply nested `targets`: 50,000 levels in 100 KB. Before: SIGSEGV in json::dump on an I/O thread.
    body = '{"image_base64": "AAAA", "targets": ' + deep_json(50000) + "}"
    for path in ("/ai/infer", "/v1/vision/detection"):
        st, _, data = server.request("POST", path, body.encode(), {"Content-Type": "application/json"})
        expect_4xx_json(server, "JSON body 50,000 deep on " + path, st, data)
        still_serving(server, "deep JSON on " + path)
    # The same through a multipart form field (DeepStack clients send forms).
    mp, ctype = multipart({"targets": deep_json(50000)}, {"image": ("a.jpg", open(IMAGE, "rb").read(), "image/jpeg")})
    st, _, data = server.request("POST", "/v1/vision/detection", mp, {"Content-Type": ctype})
    expect_4xx_json(server, "form field 'targets' 50,000 deep", st, data)
    still_serving(server, "deep JSON in a form field")

    # KServe: parameters 100,000 deep (200 KB). Before: recursive copies overflowed the stack.
    infer = '{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["x"]}], "parameters": {"p": ' \
            + deep_json(100000, "1") + "}}"
    st, _, data = server.request("POST", "/v2/models/yolox-nano-detect/infer", infer.encode(),
                                 {"Content-Type": "application/json"})
    check(st == 400 and b"error" in data, "KServe parameters 100,000 deep -> %d %s" % (st, data[:100]))
    still_serving(server, "deep KServe parameters")

    # Shape whose element count overflows int64: before, the product wrapped to 1 and was accepted.
    big = 2 ** 63 - 1
    for shape in ([big, big], [2 ** 32, 2 ** 32, 2 ** 32]):
        infer = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": shape, "data": ["x"]}]})
        st, _, data = server.request("POST", "/v2/models/yolox-nano-detect/infer", infer.encode(),
                                     {"Content-Type": "application/json"})
        check(st == 400 and b"too large" in data, "shape %s -> %d %s" % (shape, st, data[:120]))
    # binary_data_size 1e30 and max_results 1e20: undefined double-to-integer casts before.
    header = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                     "parameters": {"binary_data_size": 1e30}}]}).encode()
    st, _, data = server.request("POST", "/v2/models/yolox-nano-detect/infer", header + b"\x00" * 16,
                                 {"Content-Type": "application/octet-stream",
                                  "Inference-Header-Content-Length": str(len(header))})
    check(st == 400 and b"binary_data_size" in data, "binary_data_size 1e30 -> %d %s" % (st, data[:120]))
    jpeg = open(IMAGE, "rb").read()
    element = len(jpeg).to_bytes(4, "little") + jpeg
    header = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                     "parameters": {"binary_data_size": len(element)}}],
                         "parameters": {"max_results": 1e20}}).encode()
    st, _, data = server.request("POST", "/v2/models/yolox-nano-detect/infer", header + element,
                                 {"Content-Type": "application/octet-stream",
                                  "Inference-Header-Content-Length": str(len(header))})
    check(st == 400 and b"max_results" in data, "max_results 1e20 -> %d %s" % (st, data[:120]))
    still_serving(server, "oversized shapes and casts")

    # A chunked body whose trailer holds a 70 KiB field: before, a Beast exception reached the I/O loop
    # and the request got no answer.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST /ai/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Big: " + b"a" * (70 << 10) + b"\r\n\r\n")
        reply = b""
        try:
            while b"\r\n\r\n" not in reply:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    check(reply.startswith(b"HTTP/1.1 431"), "chunked trailer over 64 KiB -> %r" % reply[:40])
    still_serving(server, "oversized chunked trailer")


def zmq_attacks(server, endpoint):
    ctx = zmq.Context()

    def ask(frames, timeout_ms=10000):
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
        sock.connect(endpoint)
        try:
            sock.send_multipart(frames)
            return sock.recv_multipart()
        except zmq.Again:
            return None
        finally:
            sock.close()

    # Header fields of the wrong JSON type. Before: nlohmann::type_error escaped the loop and aborted.
    for header in ({"model_request": 0}, {"model_data": "yes"}, {"shape": [1, 8, 8, 3], "dtype": 5},
                   {"shape": "1,8,8,3", "dtype": "uint8"}, {"model_request": None, "shape": [1, 8, 8, 3], "dtype": []}):
        reply = ask([json.dumps(header).encode(), b"\x00" * 192])
        ok = reply is not None and len(reply) == 2 and "error" in json.loads(reply[0])
        check(ok, "zmq header %s -> error reply" % json.dumps(header))
        still_serving(server, "zmq header " + json.dumps(header))
    # A header nested 50,000 deep and a message of many frames.
    reply = ask([deep_json(50000).encode()])
    check(reply is not None and "error" in json.loads(reply[0]), "zmq header nested 50,000 deep -> error reply")
    reply = ask([b"{}"] + [b""] * 10000)
    check(reply is not None and "error" in json.loads(reply[0]), "zmq message of 10,001 frames -> error reply")
    # A tensor bigger than any image the service takes: refused before allocation.
    reply = ask([json.dumps({"shape": [1, 60000, 60000, 3], "dtype": "uint8"}).encode(), b"\x00" * 1000])
    check(reply is not None and "limit" in json.loads(reply[0]).get("error", ""),
          "zmq shape 60000x60000 -> refused: %r" % (reply[0][:120] if reply else None))
    # A frame over ZMQ_MAXMSGSIZE: libzmq drops the peer; no reply, no memory growth, server alive.
    reply = ask([json.dumps({"shape": [1, 4000, 4000, 3], "dtype": "float32"}).encode(),
                 b"\x00" * (48 << 20)], timeout_ms=3000)
    check(reply is None, "zmq 48 MiB frame over the 32 MiB cap -> peer dropped")
    still_serving(server, "oversized zmq frame")
    # And a real Frigate request still works afterwards.
    reply = ask([json.dumps({"model_request": True, "model_name": "yolox-nano"}).encode()])
    check(reply is not None and json.loads(reply[0]).get("model_available") is True, "zmq handshake after the attacks")
    ctx.term()


def large_bodies_off_io_threads(server):
    # Two ~30 MB JSON bodies (5 million numbers each). Before: parsed on the I/O threads (2 here), so
    # /ai/health waited ~1.9 s for a parse to finish. Now bodies of 64 KiB or more are parsed on a separate
    # pool: health is answered while both big requests are still being parsed.
    data = ",".join(["0.123"] * 5_000_000)
    body = ('{"inputs": [{"name": "images", "datatype": "FP32", "shape": [1, 3, 416, 416], "data": [' + data +
            "]}]}").encode()
    done = []

    def post():
        st, _, _ = server.request("POST", "/v2/models/yolox-nano/infer", body, {"Content-Type": "application/json"})
        done.append((time.time(), st))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # both bodies sent (loopback moves 30 MB in a few ms) and being parsed
    st, _, _ = server.request("GET", "/ai/health", timeout=30)
    health_at = time.time()
    for t in threads:
        t.join()
    check(st == 200 and len(done) == 2 and all(when > health_at for when, _ in done),
          "/ai/health answered while two 30 MB JSON bodies were being parsed (%s)" %
          ["%+.2f s, %d" % (when - health_at, code) for when, code in done])
    check(all(code == 400 for _, code in done), "oversized data arrays -> 400: %s" % [c for _, c in done])


def no_device_attack():
    # Every device failed: 503 must carry Retry-After like the overload 503s do.
    args = ["--engines", "sim", "--sim-device", "name=dead,kind=sim,ms=1,fail_after=0"]
    with Server(*args) as server:
        jpeg = open(IMAGE, "rb").read()
        statuses = []
        for _ in range(20):
            st, hdrs, _ = server.request("POST", "/v1/vision/detection", jpeg, {"Content-Type": "image/jpeg"})
            statuses.append((st, hdrs.get("retry-after")))
            if st == 503:
                break
            time.sleep(0.05)
        last = statuses[-1]
        check(last[0] == 503 and last[1] == "1", "all devices failed -> 503 with Retry-After: %r" % statuses[-3:])


def connection_bounds():
    # Slow headers and idle connections: before, ~1,000 of them (fd limit 1024) blocked every new request
    # until a fixed 60 s timeout. Now: a cap that answers 503 at once, a short header timeout, and a minimum
    # body rate.
    with Server("--engines", "sim", "--sim-device", "name=s,kind=sim,ms=1", "--max-connections", "20",
                "--header-timeout-s", "1") as server:
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(20)]
        for s in idle:
            s.sendall(b"GET /ai/health HTTP/1.1\r\nHost: x\r\n")  # never finished
        time.sleep(0.2)
        t0 = time.time()
        st, hdrs, data = server.request("GET", "/ai/health", timeout=5)
        took = time.time() - t0
        check(st == 503 and hdrs.get("retry-after") == "1" and b"too many open connections" in data and took < 1,
              "connection over the cap of 20 -> %d in %.3f s" % (st, took))
        # The slow-header connections are closed by the header timeout (1 s here), and service resumes.
        deadline = time.time() + 5
        closed = 0
        for s in idle:
            s.settimeout(max(0.1, deadline - time.time()))
            try:
                closed += s.recv(1) == b""
            except (socket.timeout, ConnectionResetError):
                closed += isinstance(sys.exc_info()[1], ConnectionResetError)
            s.close()
        check(closed == 20, "slow-header connections closed by the header timeout: %d of 20" % closed)
        st, _, _ = server.request("GET", "/ai/health", timeout=5)
        check(st == 200, "serving again once the slow connections are gone -> %d" % st)
        # A body trickled far below the minimum rate (64 KiB/s) is cut off: 100 KB allows 1 s + ~1.5 s.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"POST /ai/infer HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                      b"Content-Length: 100000\r\n\r\n")
            t0 = time.time()
            cut = False
            while time.time() - t0 < 8:
                try:
                    s.sendall(b"\xff" * 100)
                except (BrokenPipeError, ConnectionResetError):
                    cut = True
                    break
                time.sleep(0.05)
            check(cut and time.time() - t0 < 6, "body trickled at 2 KB/s cut off after %.1f s" % (time.time() - t0))
        still_serving(server, "slow bodies")


def main():
    endpoint = "ipc:///tmp/accel-hardening-%s" % uuid.uuid4().hex[:12]
    with Server("--engines", "cpu", "--zmq-endpoint", endpoint, "--io-threads", "2") as server:
        http_attacks(server)
        large_bodies_off_io_threads(server)
        zmq_attacks(server, endpoint)
        still_serving(server, "all attacks")
    no_device_attack()
    connection_bounds()
    if failures:
        fail("%d hardening checks failed: %s" % (len(failures), failures))
    print("all hardening checks passed")


if __name__ == "__main__":
    main()
