"""Every decoder family end to end on the cpu engine (OpenCV DNN): for each family a tiny ONNX model built
here (synthetic_models.py) whose outputs carry planted boxes in that family's exact layout; the real server
loads them all from a temporary repository, and the boxes that come back through /ai/infer, DeepStack's
/v1/vision/custom/{model} and KServe's <model>-detect entry point must be the planted ones mapped back to
the image by hand. A classification model answers `classifications` on /ai/infer and is refused by the
box-only routes. A broken model.yaml in the same repository is skipped with a clear log line and does not
stop the others. Where the build has the nvidia plugin and python3-torch is installed, the same models as
TorchScript run on the nvidia engine's CPU test device (decoding is the same whatever engine ran them)."""
import base64
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from accel_testlib import Server, fail, multipart  # noqa: E402
from synthetic_models import logit, png, to_original, write_model  # noqa: E402

WIDTH, HEIGHT = 160, 120  # the test image; 64x64 models see it at scale 0.4

# Planted objects in model-input pixels: (class, confidence, (x1, y1, x2, y2)). The second runs past the
# right edge of the input (clipped to the image); the third is under the default threshold of 0.4.
OBJECTS = [(1, 0.9, (8, 16, 24, 40)), (2, 0.75, (44, 20, 70, 36)), (0, 0.3, (30, 44, 38, 52))]
CLASSES = 3


def check(cond, msg):
    if not cond:
        fail(msg)


def cxcywh(box):
    x1, y1, x2, y2 = box
    return (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1


def one_hot(c, value=1.0):
    scores = [0.0] * CLASSES
    scores[c] = value
    return scores


def yolox():
    # strides 8, 16, 32 on 64x64: 64 + 16 + 4 anchors; each object on the stride-8 cell of its centre.
    out = np.zeros((1, 84, 5 + CLASSES), np.float32)
    for c, p, box in OBJECTS:
        cx, cy, w, h = cxcywh(box)
        gx, gy = int(cx // 8), int(cy // 8)
        out[0, gy * 8 + gx] = [cx / 8 - gx, cy / 8 - gy, math.log(w / 8), math.log(h / 8), p] + one_hot(c)
    return [("output", out)]


def yolov5():
    out = np.zeros((1, 6, 5 + CLASSES), np.float32)
    for i, (c, p, box) in enumerate(OBJECTS):
        out[0, 2 * i] = list(cxcywh(box)) + [p] + one_hot(c)
    return [("output0", out)]


def yolo_generic():
    out = np.zeros((1, 4 + CLASSES, 20), np.float32)  # channels first, as Ultralytics exports
    for i, (c, p, box) in enumerate(OBJECTS):
        out[0, :, 5 * i + 1] = list(cxcywh(box)) + one_hot(c, p)
    return [("output0", out)]


def yolo_nas_raw():
    boxes, scores = np.zeros((1, 6, 4), np.float32), np.zeros((1, 6, CLASSES), np.float32)
    for i, (c, p, box) in enumerate(OBJECTS):
        boxes[0, i + 2], scores[0, i + 2] = box, one_hot(c, p)
    return [("boxes", boxes), ("scores", scores)]


def yolo_nas_flat():
    out = np.zeros((1, 5, 7), np.float32)
    out[0, :, 6] = -1  # padding rows
    for i, (c, p, box) in enumerate(OBJECTS):
        out[0, i] = [0] + list(box) + [p, c]
    return [("flat", out)]


def yolo_nas_batch():
    count = np.array([[len(OBJECTS)]], np.float32)
    boxes, scores, classes = np.zeros((1, 5, 4), np.float32), np.zeros((1, 5), np.float32), np.zeros((1, 5), np.float32)
    for i, (c, p, box) in enumerate(OBJECTS):
        boxes[0, i], scores[0, i], classes[0, i] = box, p, c
    boxes[0, 4], scores[0, 4] = (0, 0, 64, 64), 0.99  # past the count: never read
    return [("num_predictions", count), ("pred_boxes", boxes), ("pred_scores", scores), ("pred_classes", classes)]


SSD_IDS = {1: 18, 2: 3, 0: 1}  # TF numbers COCO by category id: dog, car, person (labels: coco91)


def ssd_tf():
    boxes, classes, scores = np.zeros((1, 5, 4), np.float32), np.zeros((1, 5), np.float32), np.zeros((1, 5), np.float32)
    for i, (c, p, (x1, y1, x2, y2)) in enumerate(OBJECTS):
        boxes[0, i] = [y1 / 64, x1 / 64, y2 / 64, x2 / 64]
        classes[0, i], scores[0, i] = SSD_IDS[c], p
    scores[0, 4] = 0.99  # past the count
    return [("detection_boxes", boxes), ("detection_classes", classes), ("detection_scores", scores),
            ("num_detections", np.array([[len(OBJECTS)]], np.float32))]


def ssd_detection_output():
    out = np.zeros((1, 1, 5, 7), np.float32)
    for i, (c, p, (x1, y1, x2, y2)) in enumerate(OBJECTS):
        out[0, 0, i] = [0, c, p, x1 / 64, y1 / 64, x2 / 64, y2 / 64]
    out[0, 0, 3] = [-1, 0, 0, 0, 0, 0, 0]  # end of the list
    out[0, 0, 4] = [0, 1, 0.99, 0, 0, 1, 1]  # after it: never read
    return [("detection_out", out)]


def detr():
    boxes, logits = np.zeros((1, 5, 4), np.float32), np.full((1, 5, CLASSES), -8.0, np.float32)
    for i, (c, p, box) in enumerate(OBJECTS):
        cx, cy, w, h = cxcywh(box)
        boxes[0, i] = [cx / 64, cy / 64, w / 64, h / 64]
        logits[0, i, c] = logit(p)
    return [("pred_boxes", boxes), ("pred_logits", logits)]


# name: (family, outputs, letterbox, decoder options, labels, label of class c)
FAMILIES = {
    "syn-yolox": ("yolox", yolox(), "top_left", {"strides": [8, 16, 32]}, None, None),
    "syn-yolov5": ("yolov5", yolov5(), "center", {}, None, None),
    "syn-yolo-generic": ("yolo-generic", yolo_generic(), "center", {}, None, None),
    "syn-yolo-nas": ("yolo-nas", yolo_nas_raw(), "center", {}, None, None),
    "syn-yolo-nas-flat": ("yolo-nas", yolo_nas_flat(), "center", {}, None, None),
    "syn-yolo-nas-batch": ("yolo-nas", yolo_nas_batch(), "center", {}, None, None),
    "syn-ssd": ("ssd", ssd_tf(), "stretch", {}, "coco91", {1: "dog", 2: "car", 0: "person"}),
    "syn-ssd-detection-output": ("ssd", ssd_detection_output(), "stretch", {}, None, None),
    "syn-detr": ("detr", detr(), "stretch", {"activation": "sigmoid"}, None, None),
}
LOGITS = [0.5, 2.0, -1.0, 1.5]
CLASSIFIER = "syn-classification"


def expected(name, threshold):
    family, _, letterbox, _, _, names = FAMILIES[name]
    out = []
    for c, p, box in OBJECTS:
        if p >= threshold:
            label = names[c] if names else "%s/%s" % (name, "abc"[c])
            out.append((label, p, to_original(box, letterbox, WIDTH, HEIGHT)))
    return sorted(out, key=lambda e: -e[1])


def compare(where, got, want, tolerance):
    """got: [(label, confidence, [x1, y1, x2, y2])]"""
    check(len(got) == len(want), "%s: %d detections, expected %d: %r vs %r" % (where, len(got), len(want), got, want))
    for (gl, gp, gb), (wl, wp, wb) in zip(got, want):
        check(gl == wl, "%s: label %r, expected %r" % (where, gl, wl))
        check(abs(gp - wp) < 1e-3, "%s: confidence %g, expected %g" % (where, gp, wp))
        check(all(abs(a - b) <= tolerance for a, b in zip(gb, wb)), "%s: box %r, expected %r" % (where, gb, wb))


def ai_infer(server, model, image, threshold=None):
    payload = {"image_base64": base64.b64encode(image).decode(), "model_name": model}
    if threshold is not None:
        payload["threshold"] = threshold
    return server.json("POST", "/ai/infer", payload)


def kserve_detect(server, model, image):
    element = struct.pack("<I", len(image)) + image
    header = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                     "parameters": {"binary_data_size": len(element)}}],
                         "outputs": [{"name": "boxes"}, {"name": "scores"}, {"name": "labels"}]}).encode()
    return server.request("POST", "/v2/models/%s-detect/infer" % model, header + element,
                          {"Content-Type": "application/octet-stream",
                           "Inference-Header-Content-Length": str(len(header))})


def check_families(server, engine, all_routes):
    image = png(WIDTH, HEIGHT)
    for name in FAMILIES:
        family = FAMILIES[name][0]
        for threshold in (None, 0.2):
            status, body = ai_infer(server, name, image, threshold)
            check(status == 200, "%s /ai/infer: HTTP %d %s" % (name, status, body))
            check(body["model_name"] == name, "%s: response names %r" % (name, body["model_name"]))
            check(body["engine_used"] == engine, "%s: answered by %r, not %r" % (name, body["engine_used"], engine))
            got = [(d["label"], d["confidence"], [d["box"][k] for k in ("x_min", "y_min", "x_max", "y_max")])
                   for d in body["detections"]]
            # /ai/infer rounds boxes to 0.1 px.
            compare("%s /ai/infer threshold %s" % (name, threshold), got,
                    expected(name, 0.4 if threshold is None else threshold), 0.051)
        if all_routes:
            body, ctype = multipart({}, {"image": ("test.png", image, "image/png")})
            status, h, data = server.request("POST", "/v1/vision/custom/" + name, body, {"Content-Type": ctype})
            check(status == 200, "%s custom route: HTTP %d %r" % (name, status, data[:300]))
            reply = json.loads(data)
            got = [(p["label"], p["confidence"], [p[k] for k in ("x_min", "y_min", "x_max", "y_max")])
                   for p in reply["predictions"]]
            # DeepStack answers whole pixels.
            compare("%s /v1/vision/custom" % name, got, expected(name, 0.4), 0.51)
            status, h, data = kserve_detect(server, name, image)
            check(status == 200, "%s KServe: HTTP %d %r" % (name, status, data[:300]))
            # No binary output was asked for: the body is the JSON header alone.
            n = int(h.get("inference-header-content-length", len(data)))
            outs = {o["name"]: o for o in json.loads(data[:n])["outputs"]}
            boxes = np.array(outs["boxes"]["data"], np.float32).reshape(-1, 4)
            got = list(zip(outs["labels"]["data"], outs["scores"]["data"], boxes.tolist()))
            compare("%s KServe" % name, got, expected(name, 0.4), 0.01)
        print("ok  %-6s %-26s %-13s boxes match the planted ones%s" %
              (engine, name, family, " (/ai/infer, /v1/vision/custom, KServe)" if all_routes else " (/ai/infer)"))

    status, body = ai_infer(server, CLASSIFIER, image, 0.05)
    check(status == 200, "classification /ai/infer: HTTP %d %s" % (status, body))
    check("detections" not in body and body.get("task") == "classification", str(body))
    check(body["engine_used"] == engine, str(body))
    exp = [math.exp(v) for v in LOGITS]
    want = sorted(((label, e / sum(exp)) for label, e in zip("wxyz", exp)), key=lambda e: -e[1])[:3]
    got = [(c["label"], c["confidence"]) for c in body["classifications"]]
    check(len(got) == 3 and all(g[0] == w[0] and abs(g[1] - w[1]) < 1e-3 for g, w in zip(got, want)),
          "classifications %r, expected %r" % (got, want))
    check(body["count"] == 3, str(body))
    print("ok  %-6s %s: top 3 softmax classes on /ai/infer" % (engine, CLASSIFIER))


def write_repository(repo, torchscript):
    for name, (family, outputs, letterbox, decoder, labels, _) in FAMILIES.items():
        write_model(repo, name, family, outputs, letterbox, decoder, labels, torchscript=torchscript)
    write_model(repo, CLASSIFIER, "classification", [("logits", np.array([LOGITS], np.float32))],
                "stretch", {"activation": "softmax", "top_k": 3}, ["w", "x", "y", "z"], torchscript=torchscript)


def torchscript_available():
    """The nvidia plugin next to accel (a libtorch build) and python3-torch to write the modules."""
    plugin = os.path.join(os.path.dirname(os.environ.get("ACCEL_BIN", "")), "libaccel_nvidia_engine.so")
    if not os.path.exists(plugin):
        return "this build has no nvidia plugin"
    try:
        import torch  # noqa: F401
    except ImportError:
        return "python3-torch is not installed"
    return None


def main():
    image = png(WIDTH, HEIGHT)
    with tempfile.TemporaryDirectory() as repo:
        write_repository(repo, torchscript=False)
        broken = write_model(repo, "syn-broken", "yolov5", yolov5())
        with open(os.path.join(broken, "model.yaml")) as f:
            config = json.load(f)
        config["outputs"][0]["shape"] = [48]  # rank 1: not a yolov5 head
        with open(os.path.join(broken, "model.yaml"), "w") as f:
            json.dump(config, f)

        os.environ["ACCEL_MODELS"] = repo
        with Server("--engines", "cpu", "--default-model", CLASSIFIER) as server:
            status, models = server.json("GET", "/ai/models")
            loaded = {m["name"] for m in models["models"]}
            check(loaded == set(FAMILIES) | {CLASSIFIER}, "loaded models: %s" % sorted(loaded))
            log = open(server.log_path).read()
            check("syn-broken" in log and "rank 1" in log, "no clear log line for the broken model.yaml")
            print("ok  %d synthetic models loaded; the broken one skipped with a clear error" % len(loaded))

            check_families(server, "cpu", all_routes=True)
            status, h, data = kserve_detect(server, CLASSIFIER, image)
            check(status == 404, "classification model through KServe -detect: HTTP %d %r" % (status, data[:200]))
            body, ctype = multipart({}, {"image": ("test.png", image, "image/png")})
            for route in ("/v1/vision/detection", "/v1/vision/custom/" + CLASSIFIER):
                status, h, data = server.request("POST", route, body, {"Content-Type": ctype})
                reply = data.decode(errors="replace")
                check(status == 400 and "classification model" in reply,
                      "classification model through %s: HTTP %d %s" % (route, status, reply[:200]))
            print("ok  box-only routes refuse the classification model clearly")
            check(server.alive(), "server died")

    # The nvidia engine runs a TorchScript artifact of every family; its CPU test device stands in for a GPU.
    missing = torchscript_available()
    if missing:
        print("SKIP nvidia engine part: " + missing)
        return
    with tempfile.TemporaryDirectory() as repo:
        write_repository(repo, torchscript=True)
        os.environ["ACCEL_MODELS"] = repo
        with Server("--engines", "nvidia", "--torch-cpu-device", "true", "--default-model", CLASSIFIER) as server:
            check_families(server, "nvidia", all_routes=False)
            check(server.alive(), "server died")


if __name__ == "__main__":
    main()
