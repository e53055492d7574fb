"""DeepStack / CodeProject.AI compatibility against the real server, as the clients that exist call it.

Checks:
 1. the 20-prediction cap on Frigate's code path: a 416x416 frame holding more than 20 confident people (a
    sheet of person crops cut from the test images by the reference boxes) is sent exactly as Frigate's
    deepstack plugin sends it (JPEG in a multipart file field `image`, form field `api_key`, no
    min_confidence); the answer holds 20 predictions, highest confidence first, equal to the first 20 of
    /ai/infer's, and Frigate's way of reading them into its fixed 20-row array (own code, same logic) does
    not overflow. /ai/infer on the same frame finds more than 20 (else the frame proves nothing); a request's
    max_results still wins over the cap, and --deepstack-max-predictions 0 (here through its environment
    variable) removes it;
 2. CodeProject.AI's envelope on detection and custom routes: code, command, moduleId, moduleName,
    requestId (distinct per request), inferenceDevice, processMs, inferenceMs, analysisRoundTripMs,
    processedBy, timestampUTC;
 3. GET /v1/server/status/ping, /v1/status/ping and the two updateavailable routes, as CodeProject.AI answers
    them (success, version object, updateAvailable false);
 4. every answer (success, error, status routes) carries Content-Length equal to its body and is never
    chunked (Blue Iris cannot read chunked answers).
"""
import io
import json
import os
import re
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from accel_testlib import EXPECTED, IMAGES, Server, fail, multipart  # noqa: E402


def check(cond, msg):
    if not cond:
        fail(msg)


def people_sheet():
    """30 people in a 10x3 grid of 64x200 cells, from the confident reference boxes, resized to 416x416."""
    crops = []
    for line in open(EXPECTED):
        entry = json.loads(line)
        image = Image.open(os.path.join(IMAGES, entry["image"])).convert("RGB")
        for d in entry["detections"]:
            if d["label"] != "person" or d["confidence"] < 0.6:
                continue
            w, h = d["x_max"] - d["x_min"], d["y_max"] - d["y_min"]
            crops.append(image.crop((int(max(0, d["x_min"] - 0.1 * w)), int(max(0, d["y_min"] - 0.1 * h)),
                                     int(min(image.width, d["x_max"] + 0.1 * w)),
                                     int(min(image.height, d["y_max"] + 0.1 * h)))))
    check(len(crops) >= 10, "only %d person crops in the reference file" % len(crops))
    cols, rows, cw, ch = 10, 3, 64, 200
    sheet = Image.new("RGB", (cols * cw, rows * ch), (114, 114, 114))
    for i in range(cols * rows):
        c = crops[i % len(crops)].copy()
        c.thumbnail((cw, ch))
        sheet.paste(c, ((i % cols) * cw + (cw - c.width) // 2, (i // cols) * ch + (ch - c.height) // 2))
    return sheet.resize((416, 416), Image.BILINEAR)


def frigate_post(srv, path, jpeg, api_key=""):
    """What frigate/detectors/plugins/deepstack.py sends: requests.post(url, data={"api_key": key},
    files={"image": bytes}) -> a multipart body with the form field first and the file named "image"."""
    body, ctype = multipart({"api_key": api_key}, {"image": ("image", jpeg, "application/octet-stream")})
    st, headers, data = srv.request("POST", path, body, {"Content-Type": ctype})
    check_framing(path, headers, data)
    return st, json.loads(data)


def frigate_rows(predictions, width, height, labels):
    """Frigate's reading of a response (own code, its logic): row i of a 20x6 array for prediction i, stopping
    at the first under 0.4 or with an unknown label. More than 20 qualifying predictions overflow the array."""
    rows = np.zeros((20, 6), np.float32)
    for i, p in enumerate(predictions):
        if p["confidence"] < 0.4:
            break
        if p["label"] not in labels:
            break
        rows[i] = [labels.index(p["label"]), p["confidence"], p["y_min"] / height, p["x_min"] / width,
                   p["y_max"] / height, p["x_max"] / width]  # IndexError past row 19, as in Frigate
    return rows


def check_framing(what, headers, data):
    check("transfer-encoding" not in headers, "%s: chunked answer %r" % (what, headers))
    check(headers.get("content-length") == str(len(data)),
          "%s: Content-Length %r for a %d-byte body" % (what, headers.get("content-length"), len(data)))


def check_envelope(what, r, command):
    for key, kind in (("success", bool), ("code", int), ("command", str), ("moduleId", str), ("moduleName", str),
                      ("requestId", str), ("inferenceDevice", str), ("processMs", int), ("inferenceMs", int),
                      ("analysisRoundTripMs", int), ("processedBy", str), ("timestampUTC", str), ("count", int),
                      ("message", str)):
        check(isinstance(r.get(key), kind), "%s: field %s is %r" % (what, key, r.get(key)))
    check(r["success"] is True and r["code"] == 200 and r["command"] == command, "%s: envelope %r" % (what, r))
    check(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", r["requestId"]),
          "%s: requestId %r" % (what, r["requestId"]))
    check(re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", r["timestampUTC"]),
          "%s: timestampUTC %r" % (what, r["timestampUTC"]))
    check(r["count"] == len(r["predictions"]), "%s: count %d for %d predictions" % (what, r["count"], len(r["predictions"])))


def main():
    sheet = people_sheet()
    buf = io.BytesIO()
    sheet.save(buf, format="JPEG")  # PIL's default quality, as Frigate's plugin
    jpeg = buf.getvalue()

    with Server("--engines", "cpu") as srv:
        # /ai/infer on the same bytes, with room for everything at Frigate's 0.4.
        body, ctype = multipart({"threshold": "0.4", "max_results": "100"}, {"image": ("f.jpg", jpeg, "image/jpeg")})
        st, _, data = srv.request("POST", "/ai/infer", body, {"Content-Type": ctype})
        check(st == 200, "/ai/infer %d %r" % (st, data[:200]))
        everything = json.loads(data)["detections"]
        check(len(everything) > 20, "the frame has only %d detections >= 0.4: it proves nothing" % len(everything))

        # 1. the cap, on Frigate's code path.
        st, r = frigate_post(srv, "/v1/vision/detection", jpeg)
        check(st == 200, "deepstack: %d %r" % (st, r))
        preds = r["predictions"]
        confs = [p["confidence"] for p in preds]
        check(len(preds) == 20, "%d predictions for a frame with %d objects: want 20" % (len(preds), len(everything)))
        check(confs == sorted(confs, reverse=True), "predictions not sorted by confidence: %r" % confs)
        for p, e in zip(preds, everything[:20]):
            check(p["label"] == e["label"] and abs(p["confidence"] - e["confidence"]) < 1e-3,
                  "prediction %r is not the matching /ai/infer detection %r" % (p, e))
        labels = sorted({e["label"] for e in everything})
        try:
            rows = frigate_rows(preds, 416, 416, labels)
        except IndexError:
            fail("Frigate's 20-row array overflowed")
        check(int((rows[:, 1] > 0).sum()) == 20, "Frigate read %d rows" % int((rows[:, 1] > 0).sum()))
        check_envelope("detection", r, "detect")
        print("ok  cap: %d objects in the frame, 20 predictions back (%.3f .. %.3f), Frigate reads all 20"
              % (len(everything), confs[0], confs[-1]))

        body, ctype = multipart({"max_results": "25"}, {"image": ("image", jpeg, "image/jpeg")})
        st, h, data = srv.request("POST", "/v1/vision/detection", body, {"Content-Type": ctype})
        check(st == 200 and len(json.loads(data)["predictions"]) == min(25, len(everything)),
              "max_results 25: %d %r" % (st, data[:200]))
        print("ok  a request's max_results wins over the cap")

        # 2. custom route: same frame, same answer, command "custom"; request ids differ.
        st, c = frigate_post(srv, "/v1/vision/custom/yolox-nano", jpeg)
        check(st == 200, "custom: %d %r" % (st, c))
        check_envelope("custom", c, "custom")
        check([p["confidence"] for p in c["predictions"]] == confs, "custom route answers differently")
        check(c["requestId"] != r["requestId"], "request ids repeat")
        print("ok  CodeProject.AI envelope on detection and custom routes")

        # Errors carry the envelope and Content-Length too.
        st, e = frigate_post(srv, "/v1/vision/custom/no-such-model", jpeg)
        check(st == 404 and e["success"] is False and e["code"] == 404 and e["command"] == "custom", "404: %r" % e)
        body, ctype = multipart({"min_confidence": "lots"}, {"image": ("image", jpeg, "image/jpeg")})
        st, h, data = srv.request("POST", "/v1/vision/detection", body, {"Content-Type": ctype})
        check_framing("bad field", h, data)
        e = json.loads(data)
        check(st == 400 and e["code"] == 400 and e["command"] == "detect" and e["error"], "400: %r" % e)

        # 3. status routes.
        for path in ("/v1/server/status/ping", "/v1/status/ping", "/v1/server/status/updateavailable",
                     "/v1/status/updateavailable"):
            st, h, data = srv.request("GET", path)
            check_framing(path, h, data)
            s = json.loads(data)
            check(st == 200 and s["success"] is True and s["code"] == 200, "%s: %d %r" % (path, st, s))
            v = s["version"]
            check(all(isinstance(v[k], int) for k in ("major", "minor", "patch")) and s["message"],
                  "%s: version %r" % (path, s))
            if path.endswith("updateavailable"):
                check(s["updateAvailable"] is False and s["current"] == v and s["latest"] == v, "%s: %r" % (path, s))
        st, h, data = srv.request("POST", "/v1/vision/custom/list", b"", {})
        check_framing("custom/list", h, data)
        check(st == 200 and json.loads(data)["models"] == ["yolox-nano"], "custom/list %d %r" % (st, data))
        print("ok  ping, updateavailable and custom/list answer as CodeProject.AI does")
        check(srv.alive(), "server died")

    # The cap off through the environment.
    with Server("--engines", "cpu", env={"DEEPSTACK_MAX_PREDICTIONS": "0"}) as srv:
        st, r = frigate_post(srv, "/v1/vision/detection", jpeg)
        check(st == 200 and len(r["predictions"]) == len(everything),
              "DEEPSTACK_MAX_PREDICTIONS=0: %d predictions, want %d" % (len(r["predictions"]), len(everything)))
        print("ok  DEEPSTACK_MAX_PREDICTIONS=0: all %d predictions" % len(everything))
    print("PASS")


if __name__ == "__main__":
    main()
