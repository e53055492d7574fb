"""The seed API's other endpoints against the real server: health, engines, hardware, models, validate,
the seed's nested-array image format, raw image bodies, filters, and a simulated device that is labelled
as one everywhere it shows."""
import base64
import json
import os
import struct
import zlib

from accel_testlib import IMAGES, Server, fail

JPEG_PATH = os.path.join(IMAGES, "000000000139.jpg")
JPEG = open(JPEG_PATH, "rb").read()
problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
        print("FAIL:", msg, flush=True)


def main():
    with Server("--validation-image", JPEG_PATH, "--sim-device", "name=sim-a,kind=hailo,ms=2") as server:
        status, health = server.json("GET", "/ai/health")
        check(status == 200 and health["status"] in ("healthy", "degraded"), "health: %s" % health)
        check(any(m["name"] == "yolox-nano" and m["ready"] for m in health["models"]), "health lists the model")

        status, engines = server.json("GET", "/ai/engines")
        kinds = {e["kind"]: e for e in engines["engines"]}
        check(status == 200 and kinds["cpu"]["available"], "cpu engine available: %s" % engines)
        check(not kinds["nvidia"]["available"] or kinds["nvidia"]["devices"], "nvidia listed")
        check(kinds["hailo"]["reason"] or kinds["hailo"]["devices"], "hailo has a reason or devices")
        sims = [d for e in engines["engines"] for d in e["devices"] if d["simulated"]]
        check(len(sims) >= 1 and sims[0]["id"].startswith("sim:"), "simulated device listed as simulated: %s" % sims)

        status, hw = server.json("GET", "/ai/hardware")
        check(status == 200 and hw["cpu"]["cores"] >= 1 and hw["cpu"]["model"], "hardware cpu: %s" % hw.get("cpu"))
        for kind in ("nvidia", "hailo"):
            check(kind in hw and "is_available" in hw[kind], "hardware lists %s" % kind)
            if kind in hw and not hw[kind]["devices"]:
                check(hw[kind]["reason"], "hardware %s unavailable with a reason" % kind)

        status, models = server.json("GET", "/ai/models")
        check(status == 200 and models["models"][0]["name"] == "yolox-nano", "models: %s" % models)

        # Seed format: nested H x W x 3 array (a flat grey 32x24 picture: valid, nothing to detect).
        img = [[[128, 128, 128] for _ in range(32)] for _ in range(24)]
        status, resp = server.json("POST", "/ai/infer", {"image": img, "engine": "cpu"})
        check(status == 200 and resp["success"] and resp["image"] == {"width": 32, "height": 24},
              "nested array infer: %d %s" % (status, resp))

        # Filters.
        status, resp = server.json("POST", "/ai/infer", {"image_base64": base64.b64encode(JPEG).decode(),
                                                         "threshold": 0.3, "targets": ["chair"], "engine": "cpu"})
        check(status == 200 and resp["detections"] and all(d["label"] == "chair" for d in resp["detections"]),
              "targets filter: %s" % resp.get("detections"))
        status, resp = server.json("POST", "/ai/infer", {"image_base64": base64.b64encode(JPEG).decode(),
                                                         "threshold": 0.3, "max_results": 2, "engine": "cpu"})
        check(status == 200 and len(resp["detections"]) == 2, "max_results: %d" % len(resp.get("detections", [])))
        status, resp = server.json("POST", "/ai/infer", {"image_base64": base64.b64encode(JPEG).decode(),
                                                         "threshold": 0.85, "engine": "cpu"})
        check(status == 200 and all(d["confidence"] >= 0.85 for d in resp["detections"]) and resp["detections"],
              "threshold: %s" % resp.get("detections"))

        # Raw JPEG body with fields in the query string.
        st, _, raw = server.request("POST", "/ai/infer?threshold=0.5&engine=cpu", JPEG, {"Content-Type": "image/jpeg"})
        resp = json.loads(raw)
        check(st == 200 and resp["detections"][0]["label"] == "tv", "raw jpeg body: %s" % resp)

        # Explicit engine: a simulated hailo serves engine=hailo, says it is simulated, finds nothing.
        status, resp = server.json("POST", "/ai/infer", {"image_base64": base64.b64encode(JPEG).decode(),
                                                         "engine": "hailo"})
        check(status == 200 and resp["simulated"] is True and resp["device"] == "sim:sim-a" and resp["detections"] == [],
              "sim hailo: %s" % resp)

        # Validate: every ready engine kind runs the image; cpu is the reference.
        status, val = server.json("POST", "/ai/validate")
        by_kind = {e["engine"]: e for e in val.get("engines", [])}
        check(status == 200 and by_kind.get("cpu", {}).get("pass") is True and by_kind["cpu"]["detections"] > 0,
              "validate cpu: %s" % val)
        check("hailo" in by_kind and by_kind["hailo"]["simulated"] is True, "validate lists the simulated device")

        # HEAD works like GET without a body.
        st, hdrs, body = server.request("HEAD", "/ai/health")
        check(st == 200 and body == b"", "HEAD /ai/health: %d %r" % (st, body[:50]))
    # Validation is an admin action that runs one at a time: a second one while the first runs gets 409.
    with Server("--validation-image", JPEG_PATH, "--sim-device", "name=slow,kind=hailo,ms=800") as server:
        import threading
        codes = []
        threads = [threading.Thread(target=lambda: codes.append(server.request("POST", "/ai/validate")[0]))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(sorted(codes) == [200, 409], "concurrent validations: %s" % codes)
        check(server.request("POST", "/ai/validate")[0] == 200, "validation after the first finished")
    if problems:
        fail("%d endpoint problems" % len(problems))
    print("api_endpoints: all checks passed")


if __name__ == "__main__":
    main()
