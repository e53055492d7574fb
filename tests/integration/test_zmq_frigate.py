"""Frigate's `zmq` detector against the real server, sending byte-for-byte what Frigate's plugin
(frigate/detectors/plugins/zmq_ipc.py) sends: a REQ socket with 200 ms send/receive timeouts and linger 0,
the model handshake, then [json.dumps(header).encode(), tensor bytes] per detection.

Frigate feeds the detector square regions of the camera frame, cropped and resized to the model size
(320x320 here) with cv2.resize(..., INTER_LINEAR); this test does the same with a numpy re-implementation of
OpenCV's bilinear resize, using the largest centred square of each test image as the region.

Checks:
 1. exactness: the rows equal /ai/infer's detections on the identical 320x320 pixels (sent as PNG), to float
    rounding: the protocol adds nothing and loses nothing;
 2. sanity against the reference file (../shared/testdata/expected/yolox_nano.jsonl, computed on the full
    images at 416 px): every confident (>= 0.7) reference object that lies inside the region and is still at
    least 24 px tall and wide after the resize is found (same COCO-80 class id, IoU >= 0.5), and every row
    scoring >= 0.7 overlaps some reference object (IoU >= 0.3; any class, because at 320 px the model may name
    a faint object differently: 1268's person at 0.27 becomes a bird at 0.72). The looser bars are because the
    region is seen at 320 px instead of 416 and cropped, which moves confidences by more than the 0.05 of
    the full-image rule; they still catch wrong class ids, swapped x/y, wrong normalisation or BGR/RGB mix-ups
    (objects cut by the region's edge are compared with reference boxes clipped to the region);
 3. load: 20 requests/s for 10 s from 4 Frigate-like clients, p99 under Frigate's 200 ms timeout, no timeouts;
 4. malformed messages get a reply Frigate decodes as 20x6 zeros (plus an error text) and serving goes on.
"""
import io
import json
import os
import struct
import sys
import threading
import time
import uuid

import numpy as np
import zmq
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from accel_testlib import IMAGES, Server, fail, load_expected, iou  # noqa: E402

SIZE = 320
TIMEOUT_MS = 200
COCO = None


def check(cond, msg):
    if not cond:
        fail(msg)


class FrigateZmqClient:
    """What Frigate's ZmqIpcDetector does on the wire (own code, same bytes)."""

    def __init__(self, endpoint, model_path="/config/model_cache/yolox_nano.onnx", model_type="yolox",
                 timeout_ms=TIMEOUT_MS):
        self.timeout_ms = timeout_ms
        self.ctx = zmq.Context.instance()
        self.endpoint = endpoint
        self.model_name = os.path.basename(model_path)
        self.model_type = model_type
        self.sock = None
        self.connect()

    def connect(self):
        if self.sock is not None:
            self.sock.close(linger=0)
        self.sock = self.ctx.socket(zmq.REQ)
        self.sock.setsockopt(zmq.RCVTIMEO, self.timeout_ms)
        self.sock.setsockopt(zmq.SNDTIMEO, self.timeout_ms)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.endpoint)

    def handshake(self):
        self.sock.send_multipart([json.dumps({"model_request": True, "model_name": self.model_name}).encode("utf-8")])
        self.sock.setsockopt(zmq.RCVTIMEO, 30000)
        try:
            frames = self.sock.recv_multipart()
        finally:
            self.sock.setsockopt(zmq.RCVTIMEO, self.timeout_ms)
        check(len(frames) == 1, "handshake reply has %d frames" % len(frames))
        return json.loads(frames[0].decode("utf-8"))

    def send_model_data(self, data):
        header = json.dumps({"model_data": True, "model_name": self.model_name}).encode("utf-8")
        self.sock.send_multipart([header, data])
        self.sock.setsockopt(zmq.RCVTIMEO, 30000)
        try:
            frames = self.sock.recv_multipart()
        finally:
            self.sock.setsockopt(zmq.RCVTIMEO, self.timeout_ms)
        return json.loads(frames[0].decode("utf-8"))

    def header(self, tensor):
        return json.dumps({"shape": list(tensor.shape), "dtype": str(tensor.dtype.name),
                           "model_type": self.model_type}).encode("utf-8")

    @staticmethod
    def decode(frames):
        """Frigate's reading of a reply: one 480-byte frame, or [header, tensor]; anything else -> zeros."""
        if len(frames) == 1:
            if len(frames[0]) != 20 * 6 * 4:
                return np.zeros((20, 6), np.float32), None
            return np.frombuffer(frames[0], dtype=np.float32).reshape((20, 6)), None
        header = json.loads(frames[0].decode("utf-8"))
        arr = np.frombuffer(frames[1], dtype=np.dtype(header.get("dtype", "float32"))).reshape(tuple(header["shape"]))
        return arr, header

    def detect_raw(self, tensor):
        """Returns (rows, error header or None); raises zmq.Again on a timeout like Frigate sees it."""
        self.sock.send_multipart([self.header(tensor), memoryview(tensor.tobytes(order="C"))])
        return self.decode(self.sock.recv_multipart())


def resize_linear(img, width, height):
    """cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR) for uint8 HxWx3, in numpy."""
    h, w = img.shape[:2]

    def axis(dst, src):
        f = (np.arange(dst) + 0.5) * (src / dst) - 0.5
        i0 = np.floor(f).astype(np.int64)
        a = f - i0
        a[i0 < 0] = 0
        i0 = np.clip(i0, 0, src - 1)
        i1 = np.minimum(i0 + 1, src - 1)
        a[i0 >= src - 1] = 0
        return i0, i1, a.astype(np.float32)

    y0, y1, ay = axis(height, h)
    x0, x1, ax = axis(width, w)
    src = img.astype(np.float32)
    top = src[y0][:, x0] * (1 - ax)[None, :, None] + src[y0][:, x1] * ax[None, :, None]
    bot = src[y1][:, x0] * (1 - ax)[None, :, None] + src[y1][:, x1] * ax[None, :, None]
    out = top * (1 - ay)[:, None, None] + bot * ay[:, None, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def region_tensor(path):
    rgb = np.asarray(Image.open(path).convert("RGB"))
    h, w = rgb.shape[:2]
    side = min(h, w)
    x0, y0 = (w - side) // 2, (h - side) // 2
    crop = rgb[y0:y0 + side, x0:x0 + side]
    return np.expand_dims(resize_linear(crop, SIZE, SIZE), 0), (x0, y0, side)


def rows_to_dets(rows):
    dets = []
    for r in rows:
        if r[1] <= 0:
            break
        dets.append({"class_id": int(r[0]), "confidence": float(r[1]), "y_min": float(r[2]), "x_min": float(r[3]),
                     "y_max": float(r[4]), "x_max": float(r[5])})
    return dets


def run_load(endpoint, tensor_list):
    # 3. load: 20 requests/s from 4 clients (5/s each, open loop on a fixed schedule), 10 s.
    duration, rate, workers = 10.0, 20.0, 4
    latencies, timeouts, errors = [], [0], []
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    
    def worker(index):
        c = FrigateZmqClient(endpoint)
        c.handshake()
        period = workers / rate
        k = 0
        while True:
            due = start + index * (1.0 / rate) + k * period
            if due >= start + duration:
                break
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            t0 = time.monotonic()
            try:
                rows, err = c.detect_raw(tensor_list[(index + k) % len(tensor_list)])
                t1 = time.monotonic()
                with lock:
                    # Measured from when the request was due: a server that falls behind shows it.
                    latencies.append((t1 - min(due, t0)) * 1000)
                    if err is not None:
                        errors.append(err)
            except zmq.Again:
                with lock:
                    timeouts[0] += 1
                c.connect()  # what Frigate does after a timeout
                c.handshake()
            k += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = np.array(sorted(latencies))
    p50, p99 = np.percentile(lat, 50), np.percentile(lat, 99)
    print("load: %d ok, %d timeouts, %d errors; latency p50 %.1f ms p99 %.1f ms max %.1f ms"
          % (len(lat), timeouts[0], len(errors), p50, p99, lat.max()))
    check(not errors, "error replies under load: %r" % errors[:3])
    check(timeouts[0] == 0, "%d requests timed out (Frigate's 200 ms)" % timeouts[0])
    check(p99 < TIMEOUT_MS, "p99 %.1f ms is over Frigate's %d ms timeout" % (p99, TIMEOUT_MS))
    check(len(lat) >= duration * rate * 0.95, "only %d requests completed" % len(lat))


def main():
    endpoint = "ipc:///tmp/accel-zmq-test-%s" % uuid.uuid4().hex[:12]
    expected = load_expected()
    # Correctness phase: the CPU engine on a machine that may be busy with other tests, so neither side
    # applies Frigate's 200 ms timeout here; the load phase below does.
    with Server("--engines", "cpu", "--zmq-endpoint", endpoint, "--zmq-timeout-ms", "10000") as srv:
        client = FrigateZmqClient(endpoint, timeout_ms=10000)
        hello = client.handshake()
        check(hello.get("model_available") is True and hello.get("model_loaded") is True, "handshake: %r" % hello)
        up = client.send_model_data(b"\x00" * 1000)
        check(up.get("model_saved") is False, "model upload must be refused: %r" % up)
        print("ok  handshake %r" % hello)

        names = sorted(os.listdir(IMAGES))
        tensors = {}
        for name in names:
            tensor, region = region_tensor(os.path.join(IMAGES, name))
            tensors[name] = tensor
            rows, err = client.detect_raw(tensor)
            check(err is None, "%s: error reply %r" % (name, err))
            check(rows.shape == (20, 6) and rows.dtype == np.float32, "%s: rows %s %s" % (name, rows.shape, rows.dtype))
            dets = rows_to_dets(rows)
            n = len(dets)
            check(not rows[n:].any(), "%s: non-zero rows after the last detection" % name)
            check(all(dets[i]["confidence"] >= dets[i + 1]["confidence"] for i in range(n - 1)), "not sorted")
            check(all(0 <= d[k] <= 1 for d in dets for k in ("x_min", "y_min", "x_max", "y_max")), "not normalised")

            # 1. exactness against /ai/infer on the same pixels.
            png = io.BytesIO()
            Image.fromarray(tensor[0]).save(png, format="PNG")
            st, _, body = srv.request("POST", "/ai/infer", png.getvalue(), {"Content-Type": "image/png"})
            check(st == 200, "/ai/infer %d" % st)
            ref = [r for r in json.loads(body)["detections"]][:20]
            check(len(ref) == n, "%s: %d rows vs %d /ai/infer detections" % (name, n, len(ref)))
            for d, r in zip(dets, ref):
                check(d["class_id"] == r["class_id"] and abs(d["confidence"] - r["confidence"]) < 1e-3,
                      "%s: row %r vs %r" % (name, d, r))
                for k in ("x_min", "y_min", "x_max", "y_max"):
                    check(abs(d[k] * SIZE - r["box"][k]) < 0.06, "%s: %s %f vs %f" % (name, k, d[k] * SIZE, r["box"][k]))

            # 2. sanity against the reference detections of the full image.
            x0, y0, side = region
            mapped = [dict(d, x_min=x0 + d["x_min"] * side, x_max=x0 + d["x_max"] * side,
                           y_min=y0 + d["y_min"] * side, y_max=y0 + d["y_max"] * side) for d in dets]
            reference = expected[name]["detections"]
            scale = SIZE / side
            for r in reference:
                inside_w = min(r["x_max"], x0 + side) - max(r["x_min"], x0)
                inside_h = min(r["y_max"], y0 + side) - max(r["y_min"], y0)
                area = (r["x_max"] - r["x_min"]) * (r["y_max"] - r["y_min"])
                if r["confidence"] < 0.7 or inside_w <= 0 or inside_h <= 0 or inside_w * inside_h < 0.95 * area:
                    continue
                if (r["x_max"] - r["x_min"]) * scale < 24 or (r["y_max"] - r["y_min"]) * scale < 24:
                    continue
                check(any(m["class_id"] == r["class_id"] and iou(m, r) >= 0.5 for m in mapped),
                      "%s: reference %s %.2f not found in rows %r" % (name, r["label"], r["confidence"], mapped))
            # Objects cut by the region's edge are seen cut: compare with reference boxes clipped to it.
            clipped = [dict(r, x_min=max(r["x_min"], x0), y_min=max(r["y_min"], y0),
                            x_max=min(r["x_max"], x0 + side), y_max=min(r["y_max"], y0 + side)) for r in reference]
            for m in mapped:
                if m["confidence"] >= 0.7:
                    check(any(iou(m, r) >= 0.3 for r in clipped),
                          "%s: row %r matches no reference detection" % (name, m))
            print("ok  %s: %d rows, equal to /ai/infer on the region, consistent with the reference" % (name, n))

        # 4. malformed messages.
        bad = [
            ("bad JSON header", [b"{shape", tensors[names[0]].tobytes()]),
            ("header not an object", [b"[1,2]", tensors[names[0]].tobytes()]),
            ("wrong byte count", [client.header(tensors[names[0]]), tensors[names[0]].tobytes()[:-1]]),
            ("wrong dtype", [json.dumps({"shape": [1, SIZE, SIZE, 3], "dtype": "int16", "model_type": "yolox"}).encode(),
                             tensors[names[0]].tobytes()]),
            ("wrong shape", [json.dumps({"shape": [1, SIZE, SIZE, 4], "dtype": "uint8", "model_type": "yolox"}).encode(),
                             tensors[names[0]].tobytes()]),
            ("truncated multipart", [client.header(tensors[names[0]])]),
            ("extra frames", [client.header(tensors[names[0]]), tensors[names[0]].tobytes(), b"x"]),
            ("empty frame", [b""]),
        ]
        for what, frames in bad:
            client.sock.send_multipart(frames)
            rows, header = client.decode(client.sock.recv_multipart())
            check(rows.shape == (20, 6) and not rows.any(), "%s: reply is not 20x6 zeros" % what)
            check(header is not None and header.get("error"), "%s: no error text in reply" % what)
            print("ok  %-22s -> zeros, %s" % (what, header["error"][:80]))
        rows, err = client.detect_raw(tensors[names[0]])
        check(err is None and rows[0][1] > 0, "server stopped serving after malformed messages")
        check(srv.alive(), "server died")


    # 3. load. The CPU engine of a small shared build machine cannot sustain 20 inferences/s (one YOLOX-Nano
    # inference takes 37 ms on 2 idle cores, 100-170 ms while other jobs run), so by default the load runs
    # on a SIMULATED accelerator (10 ms per batch, like an NPU): it measures Accel's own path (zmq, tensor
    # conversion, letterbox, scheduling, row building), not a device. ACCEL_ZMQ_LOAD_ENGINE=cpu (or any kind)
    # runs it on a real engine instead, for machines that have one fast enough.
    kind = os.environ.get("ACCEL_ZMQ_LOAD_ENGINE", "sim")
    endpoint = "ipc:///tmp/accel-zmq-load-%s" % uuid.uuid4().hex[:12]
    args = ["--engines", kind, "--zmq-endpoint", endpoint]
    if kind == "sim":
        args += ["--sim-device", "name=sim-npu,kind=sim,ms=10,max_batch=4"]
    print("load phase on engine '%s'%s" % (kind, " (SIMULATED device)" if kind == "sim" else ""))
    with Server(*args):
        run_load(endpoint, [tensors[n] for n in names])
    print("PASS")


if __name__ == "__main__":
    main()
