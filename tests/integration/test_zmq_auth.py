"""Access control of the zmq front end through the real `accel serve` process (CPU engine, default model):

 1. allow-list: with --zmq-allow 127.0.0.2 a Frigate-style client connecting from 127.0.0.1 gets no answer,
    while a client connecting from 127.0.0.2 (libzmq's "source;destination" connect syntax) gets detections
    equal to /ai/infer's on the same pixels; the refusals are counted in /metrics;
 2. CURVE: keys made with `accel keygen --zmq`; a client with an authorised key gets the same detections, a
    client with an unauthorised key and a plaintext client get nothing, and the server keeps serving the
    authorised one; refusals counted by reason;
 3. a malformed --zmq-allow stops the server at start with a message naming the entry.
"""
import io
import json
import os
import re
import socket
import subprocess
import sys
import tempfile

import numpy as np
import zmq
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from accel_testlib import IMAGES, Server, fail  # noqa: E402
from test_zmq_frigate import region_tensor, rows_to_dets  # noqa: E402

SERVED_TIMEOUT_MS = 30000  # the CPU engine on a busy 2-core machine
REFUSED_WAIT_MS = 2000     # a refused connection never answers; this long is plenty to be sure


def check(cond, msg):
    if not cond:
        fail(msg)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(ctx, connect_to, tensor, timeout_ms, curve=None):
    """One Frigate-style exchange on a fresh REQ socket: the model handshake then one detection.
    Returns the 20x6 rows, or None when no answer came within timeout_ms."""
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
    sock.setsockopt(zmq.SNDTIMEO, timeout_ms)
    if curve:
        server_public, client_public, client_secret = curve
        sock.curve_serverkey = server_public.encode()
        sock.curve_publickey = client_public.encode()
        sock.curve_secretkey = client_secret.encode()
    try:
        sock.connect(connect_to)
        sock.send_multipart([json.dumps({"model_request": True, "model_name": "yolox_nano.onnx"}).encode()])
        try:
            hello = json.loads(sock.recv_multipart()[0])
        except zmq.Again:
            return None
        check(hello.get("model_loaded") is True, "handshake: %r" % hello)
        header = json.dumps({"shape": list(tensor.shape), "dtype": "uint8", "model_type": "yolox"}).encode()
        sock.send_multipart([header, tensor.tobytes()])
        try:
            frames = sock.recv_multipart()
        except zmq.Again:
            return None
        check(len(frames) == 1 and len(frames[0]) == 480, "reply is not one 20x6 float32 frame: %r" % frames[:1])
        return np.frombuffer(frames[0], dtype=np.float32).reshape((20, 6))
    finally:
        sock.close(linger=0)


def reference_dets(srv, tensor):
    png = io.BytesIO()
    Image.fromarray(tensor[0]).save(png, format="PNG")
    st, _, body = srv.request("POST", "/ai/infer", png.getvalue(), {"Content-Type": "image/png"})
    check(st == 200, "/ai/infer %d" % st)
    return json.loads(body)["detections"][:20]


def check_rows(rows, ref, what):
    check(rows is not None, "%s: no answer" % what)
    dets = rows_to_dets(rows)
    check(len(dets) == len(ref) and len(ref) > 0, "%s: %d rows vs %d /ai/infer detections" % (what, len(dets), len(ref)))
    for d, r in zip(dets, ref):
        check(d["class_id"] == r["class_id"] and abs(d["confidence"] - r["confidence"]) < 1e-3,
              "%s: row %r vs %r" % (what, d, r))


def refused(srv, reason):
    st, _, body = srv.request("GET", "/metrics")
    check(st == 200, "/metrics %d" % st)
    m = re.search(r'^accel_zmq_refused_connections_total\{reason="%s"\} ([0-9.e+]+)$' % reason,
                  body.decode(), re.M)
    check(m is not None, "no accel_zmq_refused_connections_total{reason=%r} in /metrics" % reason)
    return float(m.group(1))


def keygen(bin_path, *extra):
    out = subprocess.run([bin_path, "keygen", "--zmq"] + list(extra), capture_output=True, text=True, timeout=30)
    check(out.returncode == 0, "accel keygen --zmq failed: %s" % out.stderr)
    keys = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    check(all(len(v) == 40 for v in keys.values()), "keygen output: %r" % out.stdout)
    return keys


def main():
    # The centre region of the first test image; reference_dets checks that it has detections, so "gets
    # detections" means something.
    names = sorted(os.listdir(IMAGES))
    check(names, "no test image in %s" % IMAGES)
    tensor, _ = region_tensor(os.path.join(IMAGES, names[0]))
    ctx = zmq.Context()
    bin_path = os.environ["ACCEL_BIN"]

    # 1. allow-list
    port = free_port()
    endpoint = "tcp://127.0.0.1:%d" % port
    with Server("--engines", "cpu", "--zmq-endpoint", endpoint, "--zmq-allow", "127.0.0.2",
                "--zmq-timeout-ms", "10000") as srv:
        ref = reference_dets(srv, tensor)
        check(ref, "the test region has no detections; pick another image")
        check(refused(srv, "address") == 0, "refusals before any client")
        rows = ask(ctx, endpoint, tensor, REFUSED_WAIT_MS)
        check(rows is None, "a client from 127.0.0.1 was answered although --zmq-allow is 127.0.0.2")
        check(refused(srv, "address") >= 1, "the refusal was not counted")
        print("ok  allow-list: 127.0.0.1 refused (%d refusals counted)" % refused(srv, "address"))
        rows = ask(ctx, "tcp://127.0.0.2:0;127.0.0.1:%d" % port, tensor, SERVED_TIMEOUT_MS)
        check_rows(rows, ref, "client from 127.0.0.2")
        check(srv.alive(), "server died")
        print("ok  allow-list: 127.0.0.2 served, %d detections equal to /ai/infer" % len(ref))

    # 2. CURVE, keys from `accel keygen --zmq`
    with tempfile.TemporaryDirectory() as tmp:
        secret_file = os.path.join(tmp, "server.key")
        server_keys = keygen(bin_path, "--secret-file", secret_file)
        check(set(server_keys) == {"public-key"}, "with --secret-file only the public key is printed")
        check(os.stat(secret_file).st_mode & 0o777 == 0o600, "secret key file mode %o" % os.stat(secret_file).st_mode)
        again = subprocess.run([bin_path, "keygen", "--zmq", "--secret-file", secret_file], capture_output=True)
        check(again.returncode != 0, "keygen overwrote an existing secret key file")
        client = keygen(bin_path)
        stranger_public, stranger_secret = (k.decode() for k in zmq.curve_keypair())
        authorized = os.path.join(tmp, "clients")
        with open(authorized, "w") as f:
            f.write("# the Frigate host\npublic-key %s\n" % client["public-key"])
        port = free_port()
        endpoint = "tcp://127.0.0.1:%d" % port
        with Server("--engines", "cpu", "--zmq-endpoint", endpoint, "--zmq-timeout-ms", "10000",
                    "--zmq-curve-secret-key", secret_file, "--zmq-curve-authorized-keys", authorized) as srv:
            ref = reference_dets(srv, tensor)
            good = (server_keys["public-key"], client["public-key"], client["secret-key"])
            check_rows(ask(ctx, endpoint, tensor, SERVED_TIMEOUT_MS, curve=good), ref, "authorised CURVE client")
            print("ok  CURVE: authorised key served, %d detections equal to /ai/infer" % len(ref))
            bad = (server_keys["public-key"], stranger_public, stranger_secret)
            check(ask(ctx, endpoint, tensor, REFUSED_WAIT_MS, curve=bad) is None, "an unauthorised key was served")
            check(refused(srv, "key") >= 1, "the key refusal was not counted")
            check(ask(ctx, endpoint, tensor, REFUSED_WAIT_MS) is None, "a plaintext client was served")
            check(refused(srv, "handshake") >= 1, "the plaintext refusal was not counted")
            print("ok  CURVE: unauthorised key and plaintext refused (key %d, handshake %d)"
                  % (refused(srv, "key"), refused(srv, "handshake")))
            check_rows(ask(ctx, endpoint, tensor, SERVED_TIMEOUT_MS, curve=good), ref, "authorised client again")
            check(srv.alive(), "server died")
            print("ok  CURVE: still serving the authorised client")

    # 3. configuration errors stop the server at start
    out = subprocess.run([bin_path, "serve", "--port", "0", "--grpc-port", "-1", "--models", os.environ["ACCEL_MODELS"],
                          "--engines", "sim", "--zmq-endpoint", "tcp://127.0.0.1:%d" % free_port(),
                          "--zmq-allow", "10.0.0.0/40"], capture_output=True, text=True, timeout=60)
    check(out.returncode != 0 and "10.0.0.0/40" in out.stdout + out.stderr,
          "a malformed --zmq-allow did not stop the server: rc %d %s" % (out.returncode, out.stderr[-300:]))
    print("ok  malformed --zmq-allow: server refused to start")
    ctx.term()
    print("PASS")


if __name__ == "__main__":
    main()
