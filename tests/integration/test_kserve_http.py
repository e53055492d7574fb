"""KServe v2 over HTTP against the real server: health, metadata, JSON and binary-data inference (raw
tensors and the -detect entry point), the repository extension, and protocol errors for malformed
requests, after which the server must still serve. Standard library + numpy (Debian python3-numpy)."""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from accel_testlib import IMAGES, Server, fail  # noqa: E402

MODEL = "yolox-nano"
DETECT = MODEL + "-detect"


def check(cond, msg):
    if not cond:
        fail(msg)


def infer(srv, model, header, binary=b""):
    body = json.dumps(header).encode()
    headers = {"Content-Type": "application/octet-stream" if binary else "application/json"}
    if binary:
        headers["Inference-Header-Content-Length"] = str(len(body))
    status, h, data = srv.request("POST", "/v2/models/%s/infer" % model, body + binary, headers)
    return status, h, data


def split_response(h, data):
    """Returns (json header, {output name: raw bytes or None})."""
    n = int(h.get("inference-header-content-length", len(data)))
    head = json.loads(data[:n])
    pos = n
    raw = {}
    for o in head["outputs"]:
        size = o.get("parameters", {}).get("binary_data_size")
        if size is not None:
            raw[o["name"]] = data[pos:pos + size]
            pos += size
        else:
            raw[o["name"]] = None
    check(pos == len(data), "binary section has %d unclaimed bytes" % (len(data) - pos))
    return head, raw


def bytes_elements(raw):
    out, pos = [], 0
    while pos < len(raw):
        (n,) = struct.unpack_from("<I", raw, pos)
        out.append(raw[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def expect_error(srv, what, status, expected_status):
    s, h, data = status
    check(s == expected_status, "%s: expected HTTP %d, got %d: %r" % (what, expected_status, s, data[:200]))
    try:
        body = json.loads(data)
    except ValueError:
        fail("%s: error body is not JSON: %r" % (what, data[:200]))
    check(isinstance(body.get("error"), str) and body["error"], "%s: no 'error' string in %r" % (what, body))
    print("ok  %-40s %d %s" % (what, s, body["error"][:90]))


def main():
    with Server("--engines", "cpu", "--repository-control", "true") as srv:
        # Health and server metadata.
        for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/%s/ready" % MODEL,
                     "/v2/models/%s/versions/1/ready" % DETECT):
            s, _, data = srv.request("GET", path)
            check(s == 200 and data == b"", "%s -> %d %r" % (path, s, data[:100]))
        s, _, _ = srv.request("GET", "/v2/models/nope/ready")
        check(s == 400, "unknown model ready -> %d, want 400 (Triton)" % s)
        s, meta = srv.json("GET", "/v2")
        check(s == 200 and meta["name"] == "accel" and "binary_tensor_data" in meta["extensions"], str(meta))

        # Model metadata.
        s, m = srv.json("GET", "/v2/models/" + MODEL)
        check(s == 200, "metadata %d %r" % (s, m))
        check(m["inputs"] == [{"name": "images", "datatype": "FP32", "shape": [-1, 3, 416, 416]}], str(m))
        check(m["outputs"] == [{"name": "output", "datatype": "FP32", "shape": [-1, 3549, 85]}], str(m))
        check(m["versions"] == ["1"], str(m))
        s, m = srv.json("GET", "/v2/models/%s/versions/1" % DETECT)
        check(s == 200 and m["inputs"][0]["datatype"] == "BYTES", str(m))
        check([o["name"] for o in m["outputs"]] == ["boxes", "scores", "classes", "labels", "count"], str(m))
        print("ok  health and metadata")

        # Raw tensors: the same input as JSON (flat and nested) and as binary data must give the same output.
        rng = np.random.default_rng(7)
        tensor = rng.uniform(0, 255, size=(1, 3, 416, 416)).astype(np.float32)
        inp = {"name": "images", "datatype": "FP32", "shape": [1, 3, 416, 416]}
        s, h, data = infer(srv, MODEL, {"inputs": [dict(inp, parameters={"binary_data_size": tensor.nbytes})],
                                        "outputs": [{"name": "output", "parameters": {"binary_data": True}}]},
                           tensor.tobytes())
        check(s == 200, "binary infer %d %r" % (s, data[:300]))
        check(h.get("content-type") == "application/octet-stream", str(h))
        head, raw = split_response(h, data)
        check(head["outputs"][0]["shape"] == [1, 3549, 85], str(head["outputs"]))
        out_binary = np.frombuffer(raw["output"], dtype=np.float32)
        check(out_binary.size == 3549 * 85, "output size %d" % out_binary.size)
        for layout, values in (("flat", tensor.reshape(-1).tolist()), ("nested", tensor.tolist())):
            s, h, data = infer(srv, MODEL, {"id": "json-" + layout, "inputs": [dict(inp, data=values)]})
            check(s == 200, "%s JSON infer %d %r" % (layout, s, data[:300]))
            head, raw = split_response(h, data)
            check(head.get("id") == "json-" + layout, "id not echoed: %r" % head.get("id"))
            out_json = np.array(head["outputs"][0]["data"], dtype=np.float32)
            check(np.array_equal(out_json, out_binary),
                  "%s JSON output differs from binary output (max %g)" % (layout, np.abs(out_json - out_binary).max()))
        print("ok  raw tensors: JSON flat, JSON nested and binary data agree")

        # Detection entry point with the image as binary BYTES data vs /ai/infer on the same file.
        for name in sorted(os.listdir(IMAGES))[:4]:
            jpeg = open(os.path.join(IMAGES, name), "rb").read()
            element = struct.pack("<I", len(jpeg)) + jpeg
            s, h, data = infer(srv, DETECT, {
                "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                            "parameters": {"binary_data_size": len(element)}}],
                "outputs": [{"name": "boxes", "parameters": {"binary_data": True}},
                            {"name": "scores"}, {"name": "labels"}, {"name": "count"}]}, element)
            check(s == 200, "detect %s: %d %r" % (name, s, data[:300]))
            head, raw = split_response(h, data)
            outs = {o["name"]: o for o in head["outputs"]}
            boxes = np.frombuffer(raw["boxes"], dtype=np.float32).reshape(-1, 4)
            scores = outs["scores"]["data"]
            labels = outs["labels"]["data"]
            st, _, body = srv.request("POST", "/ai/infer", jpeg, {"Content-Type": "image/jpeg"})
            check(st == 200, "/ai/infer %d" % st)
            ref = json.loads(body)["detections"]
            check(outs["count"]["data"] == [len(ref)], "%s: count %r vs %d" % (name, outs["count"]["data"], len(ref)))
            for i, r in enumerate(ref):
                check(labels[i] == r["label"] and abs(scores[i] - r["confidence"]) < 1e-3, "%s #%d differs" % (name, i))
                check(np.allclose(boxes[i], [r["box"]["x_min"], r["box"]["y_min"], r["box"]["x_max"], r["box"]["y_max"]], atol=0.06),
                      "%s #%d box %s vs %s" % (name, i, boxes[i], r))
            print("ok  detect %s: %d detections equal /ai/infer" % (name, len(ref)))

        # Malformed requests: protocol errors, never a 200, never a crash.
        good_inp = dict(inp, parameters={"binary_data_size": tensor.nbytes})
        expect_error(srv, "bad JSON", srv.request("POST", "/v2/models/%s/infer" % MODEL, b"{nope",
                                                    {"Content-Type": "application/json"}), 400)
        expect_error(srv, "unknown model", infer(srv, "nope", {"inputs": [dict(inp, shape=[1], data=[0])]}), 404)
        expect_error(srv, "unknown version",
                     srv.request("POST", "/v2/models/%s/versions/9/infer" % MODEL,
                                 json.dumps({"inputs": [dict(inp, shape=[1], data=[0])]}).encode()), 404)
        expect_error(srv, "wrong byte count",
                     infer(srv, MODEL, {"inputs": [good_inp]}, tensor.tobytes()[:-4] + b""), 400)
        expect_error(srv, "truncated binary data",
                     infer(srv, MODEL, {"inputs": [good_inp]}, tensor.tobytes()[:1000]), 400)
        expect_error(srv, "wrong dtype",
                     infer(srv, MODEL, {"inputs": [dict(good_inp, datatype="UINT8",
                                                        parameters={"binary_data_size": tensor.size})]},
                           tensor.astype(np.uint8).tobytes()), 400)
        expect_error(srv, "wrong shape",
                     infer(srv, MODEL, {"inputs": [dict(good_inp, shape=[1, 3, 416, 415],
                                                        parameters={"binary_data_size": 3 * 416 * 415 * 4})]},
                           tensor.tobytes()[:3 * 416 * 415 * 4]), 400)
        expect_error(srv, "JSON element count", infer(srv, MODEL, {"inputs": [dict(inp, data=[1.0, 2.0])]}), 400)
        expect_error(srv, "unknown datatype", infer(srv, MODEL, {"inputs": [dict(inp, datatype="FLOAT", data=[1])]}),
                     400)
        expect_error(srv, "header length beyond body",
                     srv.request("POST", "/v2/models/%s/infer" % MODEL, b"{}",
                                 {"Inference-Header-Content-Length": "99"}), 400)
        expect_error(srv, "unknown output", infer(srv, MODEL, {"inputs": [good_inp], "outputs": [{"name": "x"}]},
                                                 tensor.tobytes()), 400)
        expect_error(srv, "not an image", infer(srv, DETECT, {"inputs": [{"name": "image", "datatype": "BYTES",
                                                                          "shape": [1], "data": ["hello"]}]}), 415)
        check(srv.alive(), "server died")
        s, h, data = infer(srv, MODEL, {"inputs": [good_inp]}, tensor.tobytes())
        check(s == 200, "server stopped serving after malformed requests: %d" % s)
        print("ok  malformed requests answered with errors; server still serves")

        # Repository extension.
        s, idx = srv.json("POST", "/v2/repository/index", {})
        check(s == 200 and any(e["name"] == MODEL and e["state"] == "READY" for e in idx), str(idx))
        json_ct = {"Content-Type": "application/json"}
        s, _, data = srv.request("POST", "/v2/repository/models/%s/unload" % MODEL, b"{}", json_ct)
        check(s == 200, "unload %d %r" % (s, data))
        s, _, _ = srv.request("GET", "/v2/models/%s/ready" % MODEL)
        check(s == 400, "model still ready after unload")
        expect_error(srv, "infer on unloaded model", infer(srv, MODEL, {"inputs": [good_inp]}, tensor.tobytes()), 404)
        s, _, data = srv.request("POST", "/v2/repository/models/%s/load" % MODEL, b"{}", json_ct)
        check(s == 200, "load %d %r" % (s, data))
        s, _, _ = srv.request("GET", "/v2/models/%s/ready" % MODEL)
        check(s == 200, "model not ready after load")
        expect_error(srv, "load unknown model", srv.request("POST", "/v2/repository/models/nope/load", b"", json_ct), 404)
        print("ok  repository index / unload / load")
    print("PASS")


if __name__ == "__main__":
    main()
