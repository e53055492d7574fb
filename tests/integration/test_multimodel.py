"""Several models at once, through every HTTP front end that names a model, against the real server.

The repository (a temporary folder) holds the default model and two synthetic ones: copies of its model.yaml
under other names, each with its own label list ("a-07" for class 7 of syn-a, "b-07" for syn-b), whose cpu
artifact is the same ONNX file. A fourth folder holds a model whose ONNX file is garbage: it must fail to load
without taking the others down. The same pixels through the three models must therefore give the same boxes,
scores and class ids, each labelled from its own model's list.

Checks:
 1. start-up: the three good models are loaded, the broken one is not, and the server serves;
 2. three models in parallel under load: 6 client threads, each request picks a model, a front end
    (/ai/infer model_name, /v1/vision/custom/{model}, KServe /v2/models/{model}-detect) and an image; every
    answer names the model asked for and equals that image's reference (taken from the default model alone
    before the load) with the labels of the model asked for: no cross-talk;
 3. /v1/vision/custom/list lists the loaded models; an unknown custom model is a 404 with CodeProject.AI's
    envelope;
 4. at run time through the repository API (admin key, --repository-control true): a model added to the
    folder is loaded and serves, another is unloaded (404 afterwards), loading the broken one fails alone,
    and the others keep serving throughout.
"""
import json
import os
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from accel_testlib import IMAGES, Server, fail, multipart, synthetic_model  # noqa: E402

ADMIN = "admin-key-for-multimodel-test"
DEFAULT = "yolox-nano"
PREFIX = {"syn-a": "a-", "syn-b": "b-", "syn-c": "c-"}


def check(cond, msg):
    if not cond:
        fail(msg)


def labels_for(model, class_id):
    return PREFIX[model] + "%02d" % class_id if model in PREFIX else None


def detect(srv, model, api, jpeg):
    """One detection of `jpeg` by `model` through `api`. Returns (model named in the answer, [(label, class
    id or None, confidence, [x0, y0, x1, y1])])."""
    if api == "ai":
        body, ctype = multipart({"model_name": model}, {"image": ("image.jpg", jpeg, "image/jpeg")})
        st, _, data = srv.request("POST", "/ai/infer", body, {"Content-Type": ctype})
        check(st == 200, "/ai/infer %s: %d %r" % (model, st, data[:300]))
        r = json.loads(data)
        return r["model_name"], [(d["label"], d["class_id"], d["confidence"],
                                  [d["box"][k] for k in ("x_min", "y_min", "x_max", "y_max")]) for d in r["detections"]]
    if api == "custom":
        body, ctype = multipart({}, {"image": ("image", jpeg, "application/octet-stream")})
        st, _, data = srv.request("POST", "/v1/vision/custom/" + model, body, {"Content-Type": ctype})
        check(st == 200, "custom %s: %d %r" % (model, st, data[:300]))
        r = json.loads(data)
        check(r["success"] is True and r["code"] == 200 and r["command"] == "custom", "custom envelope %r" % r)
        return r["model_name"], [(p["label"], None, p["confidence"], [p["x_min"], p["y_min"], p["x_max"], p["y_max"]])
                                 for p in r["predictions"]]
    element = struct.pack("<I", len(jpeg)) + jpeg
    header = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                     "parameters": {"binary_data_size": len(element)}}],
                         "outputs": [{"name": "labels"}, {"name": "classes"}, {"name": "scores"},
                                     {"name": "boxes"}]}).encode()
    st, h, data = srv.request("POST", "/v2/models/%s-detect/infer" % model, header + element,
                              {"Content-Type": "application/octet-stream",
                               "Inference-Header-Content-Length": str(len(header))})
    check(st == 200, "kserve %s: %d %r" % (model, st, data[:300]))
    r = json.loads(data)
    outs = {o["name"]: o["data"] for o in r["outputs"]}
    boxes = outs["boxes"]
    return r["model_name"][:-len("-detect")], [
        (outs["labels"][i], outs["classes"][i], outs["scores"][i], boxes[4 * i:4 * i + 4]) for i in range(len(outs["scores"]))]


def same_as_reference(model, api, dets, ref):
    """Problems (a list) between `dets` of `model` and the default model's reference detections."""
    problems = []
    if len(dets) != len(ref):
        return ["%d detections, reference %d" % (len(dets), len(ref))]
    tol = 0.6 if api == "custom" else 0.1  # DeepStack rounds boxes to whole pixels
    for (label, cid, conf, box), (rlabel, rcid, rconf, rbox) in zip(dets, ref):
        want = labels_for(model, rcid) or rlabel
        if label != want:
            problems.append("label %r, want %r" % (label, want))
        if cid is not None and cid != rcid:
            problems.append("class %r, want %r" % (cid, rcid))
        if abs(conf - rconf) > 2e-3 or any(abs(a - b) > tol for a, b in zip(box, rbox)):
            problems.append("%s %.4f %s vs reference %.4f %s" % (label, conf, box, rconf, rbox))
    return problems


def admin(srv, path):
    return srv.request("POST", path, b"{}", {"Content-Type": "application/json", "Authorization": "Bearer " + ADMIN})


def main():
    tmp = tempfile.TemporaryDirectory()
    repo = os.path.join(tmp.name, "models")
    os.makedirs(repo)
    synthetic_model(repo, DEFAULT, None)
    for name in ("syn-a", "syn-b"):
        synthetic_model(repo, name, [labels_for(name, i) for i in range(80)])
    synthetic_model(repo, "broken", None, artifact_bytes=b"this is not an onnx file" * 100)
    names = sorted(os.listdir(IMAGES))[:4]
    jpegs = {n: open(os.path.join(IMAGES, n), "rb").read() for n in names}

    with Server("--engines", "cpu", "--repository-control", "true", "--admin-key", ADMIN, models=repo) as srv:
        # 1. start-up.
        st, models = srv.json("GET", "/ai/models")
        loaded = {m["name"]: m["ready"] for m in models["models"]}
        check(st == 200 and loaded == {DEFAULT: True, "syn-a": True, "syn-b": True}, "loaded models: %r" % loaded)
        check("broken" in srv.log_text(), "the broken model's failure is not logged")
        print("ok  start-up: %s loaded, 'broken' refused alone" % sorted(loaded))

        ref = {}
        for n in names:
            got_model, dets = detect(srv, DEFAULT, "ai", jpegs[n])
            check(got_model == DEFAULT and dets, "%s: reference %r %r" % (n, got_model, dets))
            ref[n] = dets

        # 2. three models in parallel under load.
        plan = [(m, api, n) for m in (DEFAULT, "syn-a", "syn-b") for api in ("ai", "custom", "kserve") for n in names]
        results, errors = [], []
        lock = threading.Lock()

        def client(index):
            for k in range(len(plan) // 6 * 2):
                model, api, n = plan[(index * 7 + k * 5) % len(plan)]
                try:
                    t0 = time.monotonic()
                    got_model, dets = detect(srv, model, api, jpegs[n])
                    ms = (time.monotonic() - t0) * 1000
                    problems = same_as_reference(model, api, dets, ref[n])
                    if got_model != model:
                        problems.append("answer names model %r" % got_model)
                    with lock:
                        results.append(ms)
                        if problems:
                            errors.append("%s via %s on %s: %s" % (model, api, n, problems[:3]))
                except SystemExit:
                    with lock:
                        errors.append("%s via %s on %s: request failed" % (model, api, n))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
        results.sort()
        print("load: %d requests over 3 models x 3 front ends from 6 threads in %.1f s (%.1f/s), latency p50 %.0f ms "
              "max %.0f ms" % (len(results), wall, len(results) / wall, results[len(results) // 2], results[-1]))
        check(not errors, "cross-talk or wrong answers under load:\n  " + "\n  ".join(errors[:10]))
        check(len(results) == 6 * (len(plan) // 6 * 2), "only %d requests completed" % len(results))
        print("ok  every answer names its model and carries that model's labels")

        # 3. CodeProject.AI's model list and an unknown custom model.
        st, listing = srv.json("POST", "/v1/vision/custom/list", {})
        check(st == 200 and sorted(listing["models"]) == sorted([DEFAULT, "syn-a", "syn-b"]), "custom/list: %r" % listing)
        check(listing["command"] == "list-custom" and listing["moduleId"] == "accel", "custom/list envelope %r" % listing)
        body, ctype = multipart({}, {"image": ("image", jpegs[names[0]], "image/jpeg")})
        st, _, data = srv.request("POST", "/v1/vision/custom/nope", body, {"Content-Type": ctype})
        r = json.loads(data)
        check(st == 404 and r["success"] is False and r["code"] == 404 and "nope" in r["error"], "custom/nope: %d %r" % (st, r))
        print("ok  custom/list %r; unknown model 404" % listing["models"])

        # 4. run-time changes through the repository API.
        synthetic_model(repo, "syn-c", [labels_for("syn-c", i) for i in range(80)])
        st, _, data = srv.request("POST", "/v2/repository/models/syn-c/load", b"{}", {"Content-Type": "application/json"})
        check(st == 401, "load without the admin key: %d %r" % (st, data[:200]))
        st, _, data = admin(srv, "/v2/repository/models/syn-c/load")
        check(st == 200, "load syn-c: %d %r" % (st, data[:300]))
        for api in ("ai", "custom", "kserve"):
            got_model, dets = detect(srv, "syn-c", api, jpegs[names[0]])
            check(got_model == "syn-c" and not same_as_reference("syn-c", api, dets, ref[names[0]]),
                  "syn-c via %s after load: %r" % (api, dets[:2]))
        st, _, data = admin(srv, "/v2/repository/models/syn-a/unload")
        check(st == 200, "unload syn-a: %d %r" % (st, data[:300]))
        body, ctype = multipart({}, {"image": ("image", jpegs[names[0]], "image/jpeg")})
        st, _, data = srv.request("POST", "/v1/vision/custom/syn-a", body, {"Content-Type": ctype})
        check(st == 404, "syn-a after unload: %d %r" % (st, data[:200]))
        st, _, data = admin(srv, "/v2/repository/models/broken/load")
        check(st >= 400 and st != 404, "loading the broken model: %d %r" % (st, data[:200]))
        for model in (DEFAULT, "syn-b", "syn-c"):
            got_model, dets = detect(srv, model, "custom", jpegs[names[1]])
            check(got_model == model and not same_as_reference(model, "custom", dets, ref[names[1]]),
                  "%s after the run-time changes" % model)
        st, listing = srv.json("POST", "/v1/vision/custom/list", {})
        check(sorted(listing["models"]) == sorted([DEFAULT, "syn-b", "syn-c"]), "custom/list after changes: %r" % listing)
        check(srv.alive(), "server died")
        print("ok  run time: syn-c loaded and serving, syn-a unloaded (404), broken refused alone, others serve")
    tmp.cleanup()
    print("PASS")


if __name__ == "__main__":
    main()
