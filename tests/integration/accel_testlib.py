"""Helpers for Accel's integration tests: start the real server on a free port, talk HTTP, compare
detections with the reference file. Standard library only."""
import http.client
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib

SHARED = os.environ.get("ACCEL_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
IMAGES = os.path.join(SHARED, "testdata", "images")
EXPECTED = os.path.join(SHARED, "testdata", "expected", "yolox_nano.jsonl")


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


class Server:
    """`accel serve` on 127.0.0.1 and a free port; use as a context manager."""

    def __init__(self, *extra_args, env=None, models=None):
        self.bin = os.environ.get("ACCEL_BIN") or fail("ACCEL_BIN is not set")
        self.models = models or os.environ.get("ACCEL_MODELS") or fail("ACCEL_MODELS is not set")
        self.extra = list(extra_args)
        self.env = dict(os.environ)
        # The cpu device's runtime is pinned to OpenCV unless a test asks otherwise: `auto` would load the
        # libtorch plugin and time both runtimes at every start (seconds per server), and which one wins a
        # timing on a busy machine must not change what a test sees. test_nvidia_plugin.py tests auto.
        self.env.setdefault("CPU_RUNTIME", "opencv")
        self.env.update(env or {})
        self.proc = None
        self.port = None

    def __enter__(self):
        self.tmp = tempfile.TemporaryDirectory()
        port_file = os.path.join(self.tmp.name, "port")
        self.log_path = os.path.join(self.tmp.name, "server.log")
        self.log = open(self.log_path, "w")
        args = [self.bin, "serve", "--host", "127.0.0.1", "--port", "0", "--port-file", port_file,
                "--grpc-port", "-1", "--zmq-endpoint", "", "--models", self.models] + self.extra
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.dump_log()
                fail("server exited with code %s during start" % self.proc.returncode)
            if os.path.exists(port_file):
                text = open(port_file).read().strip()
                if text:
                    self.port = int(text)
                    return self
            time.sleep(0.05)
        self.dump_log()
        fail("server did not start within 60 s")

    def __exit__(self, *exc):
        alive = self.proc.poll() is None
        if alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if exc[0] is not None or not alive:
            self.dump_log()
        self.tmp.cleanup()
        return False

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        """What the server has logged so far."""
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def dump_log(self):
        try:
            self.log.flush()
        except Exception:
            pass
        print("---- server log ----")
        print(open(self.log_path).read()[-6000:])
        print("---- end ----", flush=True)

    def request(self, method, path, body=None, headers=None, timeout=60):
        """Returns (status, headers dict lower-case, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def json(self, method, path, payload=None, headers=None):
        body = None
        hdrs = dict(headers or {})
        if payload is not None:
            body = json.dumps(payload).encode()
            hdrs.setdefault("Content-Type", "application/json")
        status, h, data = self.request(method, path, body, hdrs)
        try:
            return status, json.loads(data)
        except ValueError:
            fail("%s %s answered %d with a non-JSON body: %r" % (method, path, status, data[:200]))


def tiny_png(w=16, h=16):
    """A valid black RGB PNG of w x h pixels, made here (no file needed): a cheap image for load tests."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(w * 3) for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def multipart(fields, files):
    """fields: {name: str}, files: {name: (filename, bytes, content_type)} -> (body, content_type)."""
    boundary = "----accel" + uuid.uuid4().hex
    out = []
    for name, value in fields.items():
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                    % (boundary, name, value)).encode())
    for name, (filename, data, ctype) in files.items():
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                    "Content-Type: %s\r\n\r\n" % (boundary, name, filename, ctype)).encode() + data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def load_expected():
    with open(EXPECTED) as f:
        return {e["image"]: e for e in map(json.loads, f)}


def iou(a, b):
    ix = max(0.0, min(a["x_max"], b["x_max"]) - max(a["x_min"], b["x_min"]))
    iy = max(0.0, min(a["y_max"], b["y_max"]) - max(a["y_min"], b["y_min"]))
    inter = ix * iy
    ua = (a["x_max"] - a["x_min"]) * (a["y_max"] - a["y_min"]) + (b["x_max"] - b["x_min"]) * (b["y_max"] - b["y_min"]) - inter
    return inter / ua if ua > 0 else 0.0


def check_matching_rule(produced, reference, integer_boxes=False):
    """The matching rule of shared/testdata/README.md. `produced`: [{label, confidence, x_min..}].
    Returns a list of problems (empty when the rule holds). integer_boxes: the API rounds boxes to whole
    pixels (DeepStack), which can cost a little IoU on tiny boxes; the IoU bar is then applied to boxes
    widened by the rounding error of 0.5 px per side."""
    problems = []
    for ref in reference:
        if ref["confidence"] < 0.5:
            continue
        ok = False
        for p in produced:
            if p["label"] != ref["label"] or abs(p["confidence"] - ref["confidence"]) > 0.05:
                continue
            score = iou(p, ref)
            if integer_boxes and score < 0.8:
                grown = {"x_min": ref["x_min"] - 0.5, "y_min": ref["y_min"] - 0.5,
                         "x_max": ref["x_max"] + 0.5, "y_max": ref["y_max"] + 0.5}
                score = max(score, iou(p, grown))
            if score >= 0.8:
                ok = True
                break
        if not ok:
            problems.append("reference %s %.3f %s not matched" % (ref["label"], ref["confidence"],
                                                                  [ref["x_min"], ref["y_min"], ref["x_max"], ref["y_max"]]))
    for p in produced:
        if p["confidence"] < 0.55:
            continue
        if not any(r["label"] == p["label"] and r["confidence"] >= 0.4 and iou(p, r) >= 0.5 for r in reference):
            problems.append("produced %s %.3f has no reference" % (p["label"], p["confidence"]))
    return problems


def synthetic_model(repo, name, labels, artifact_bytes=None):
    """Adds models/<name>/ to `repo`: a copy of the default model's model.yaml under another name, with
    `labels` (a list, written to labels.txt) and its cpu artifact pointing at the default model's ONNX file
    (a link to the same file), or at a file holding `artifact_bytes` when given. Only the cpu artifact is
    kept. Returns the folder."""
    import yaml
    src = os.path.join(os.environ.get("ACCEL_MODELS") or fail("ACCEL_MODELS is not set"), "yolox-nano")
    config = yaml.safe_load(open(os.path.join(src, "model.yaml")).read())
    folder = os.path.join(repo, name)
    os.makedirs(folder, exist_ok=True)
    onnx = config["artifacts"]["cpu"]["path"]
    if artifact_bytes is None:
        os.symlink(os.path.realpath(os.path.join(src, onnx)), os.path.join(folder, onnx))
    else:
        with open(os.path.join(folder, onnx), "wb") as f:
            f.write(artifact_bytes)
    config["name"] = name
    config["description"] = "synthetic test model " + name
    config["artifacts"] = {"cpu": config["artifacts"]["cpu"]}
    if labels is not None:
        with open(os.path.join(folder, "labels.txt"), "w") as f:
            f.write("\n".join(labels) + "\n")
        config["labels"] = "labels.txt"
    with open(os.path.join(folder, "model.yaml"), "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    return folder
