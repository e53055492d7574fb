"""Accuracy through the real server: every test image, through /v1/vision/detection (DeepStack multipart)
and /ai/infer (JSON base64 and multipart), must satisfy the matching rule of shared/testdata/README.md
against the reference detections."""
import base64
import json
import os

from accel_testlib import IMAGES, Server, check_matching_rule, fail, load_expected, multipart


def main():
    expected = load_expected()
    names = sorted(n for n in os.listdir(IMAGES) if n.endswith(".jpg"))
    if len(names) < 8:
        fail("expected 8 test images in %s, found %d" % (IMAGES, len(names)))
    failures = []
    with Server() as server:
        # integration.api_accuracy_xnnpack runs this script with CPU_RUNTIME=xnnpack: check it serves.
        runtime = os.environ.get("CPU_RUNTIME", "opencv")
        status, resp = server.json("GET", "/ai/engines")
        notes = [d.get("runtimes", {}).get("yolox-nano", "") for e in resp.get("engines", [])
                 if e.get("kind") == "cpu" for d in e.get("devices", [])]
        if status != 200 or not notes or not notes[0].startswith(runtime + ": "):
            fail("cpu:0 should serve yolox-nano with runtime %s; /ai/engines says %s" % (runtime, notes))
        for name in names:
            data = open(os.path.join(IMAGES, name), "rb").read()
            ref = expected[name]["detections"]

            # DeepStack: what Frigate, Blue Iris and Home Assistant send.
            body, ctype = multipart({"min_confidence": "0.3"}, {"image": (name, data, "image/jpeg")})
            st, hdrs, raw = server.request("POST", "/v1/vision/detection", body, {"Content-Type": ctype})

            resp = json.loads(raw)
            if st != 200 or not resp.get("success"):
                failures.append("%s deepstack: HTTP %d %s" % (name, st, resp))
                continue
            preds = resp["predictions"]
            confs = [p["confidence"] for p in preds]
            if confs != sorted(confs, reverse=True):
                failures.append("%s deepstack: predictions not sorted by confidence" % name)
            if any(c < 0.3 or c > 1 for c in confs):
                failures.append("%s deepstack: confidence outside [min_confidence, 1]" % name)
            if resp["count"] != len(preds):
                failures.append("%s deepstack: count %d != %d predictions" % (name, resp["count"], len(preds)))
            for p in check_matching_rule(preds, ref, integer_boxes=True):
                failures.append("%s deepstack: %s" % (name, p))

            # Seed API, JSON with base64.
            status, resp = server.json("POST", "/ai/infer", {"image_base64": base64.b64encode(data).decode(),
                                                             "threshold": 0.3})
            if status != 200 or not resp.get("success"):
                failures.append("%s ai/infer json: HTTP %d %s" % (name, status, resp))
                continue
            dets = [dict(d["box"], label=d["label"], confidence=d["confidence"]) for d in resp["detections"]]
            for p in check_matching_rule(dets, ref):
                failures.append("%s ai/infer json: %s" % (name, p))
            if resp["image"] != {"width": expected[name]["width"], "height": expected[name]["height"]}:
                failures.append("%s ai/infer: image size %s" % (name, resp["image"]))
            for key in ("decode_ms", "queue_ms", "inference_ms", "total_ms"):
                if key not in resp["timings"]:
                    failures.append("%s ai/infer: timings lack %s" % (name, key))
            if resp["engine_used"] != "cpu" or not resp["device"]:
                failures.append("%s ai/infer: engine_used %s device %s" % (name, resp["engine_used"], resp["device"]))

            # Seed API, multipart with form fields.
            body, ctype = multipart({"threshold": "0.3", "engine": "cpu"}, {"image": (name, data, "image/jpeg")})
            st, hdrs, raw = server.request("POST", "/ai/infer", body, {"Content-Type": ctype})
            resp = json.loads(raw)
            if st != 200:
                failures.append("%s ai/infer multipart: HTTP %d %s" % (name, st, resp))
                continue
            dets = [dict(d["box"], label=d["label"], confidence=d["confidence"]) for d in resp["detections"]]
            for p in check_matching_rule(dets, ref):
                failures.append("%s ai/infer multipart: %s" % (name, p))
            print("ok %s: %d predictions" % (name, len(preds)), flush=True)
    if failures:
        for f in failures:
            print("FAIL:", f)
        fail("%d accuracy problems" % len(failures))
    print("api_accuracy (cpu runtime %s): %d images x 3 requests each matched the reference"
          % (os.environ.get("CPU_RUNTIME", "opencv"), len(names)))


if __name__ == "__main__":
    main()
