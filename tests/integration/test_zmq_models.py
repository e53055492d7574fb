"""Frigate's zmq model handshake and upload against the real server, with the bytes Frigate's plugin sends
(frigate/detectors/plugins/zmq_ipc.py: [{"model_request": true, "model_name": <base name of its model
path>}], then [{"model_data": true, "model_name": ...}, file] when the model is not available).

Checks, each followed by a detection that must still work (the server keeps serving):
 1. known name: the artifact's file name and the model's name both find the model, answered at once;
 2. unknown name: model_available false at once, the upload is refused while uploads are off, and that
    client's tensors get an immediate empty answer saying the model is not loaded;
 3. wrong tensors for the chosen model (4 channels, a batch of 2, float64, rank 3 without channels): an
    immediate empty answer naming the model's input; logging is rate-limited (at most one line for a burst
    of 40, then one line counting those left out); a tensor of another size is served (letterboxed) and
    logged once;
 4. uploads on (--zmq-accept-models DIR): bytes that are not ONNX are refused and leave nothing behind; the
    default model's ONNX file uploaded as Frigate would (unknown name -> model_data) is saved under DIR
    with its model.yaml, loaded, answers the next handshake as available and loaded, and gives the same
    rows as the repository's model on the same tensor; a name with a path and odd characters is saved
    inside DIR under a sanitised name; an upload named like a repository model is refused.
"""
import json
import os
import sys
import tempfile
import time
import uuid

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from accel_testlib import IMAGES, Server, fail, multipart  # noqa: E402
from test_zmq_frigate import FrigateZmqClient, region_tensor  # noqa: E402


def check(cond, msg):
    if not cond:
        fail(msg)


def timed(fn, *args):
    t0 = time.monotonic()
    out = fn(*args)
    return out, (time.monotonic() - t0) * 1000


def send(client, header, payload):
    client.sock.send_multipart([json.dumps(header).encode(), payload])
    return client.decode(client.sock.recv_multipart())


def expect_rows(client, tensor, what):
    rows, err = client.detect_raw(tensor)
    check(err is None and rows.shape == (20, 6) and rows[0][1] > 0, "%s: no detections (%r)" % (what, err))
    return rows


def main():
    onnx_path = os.path.join(os.environ.get("ACCEL_MODELS") or fail("ACCEL_MODELS is not set"), "yolox-nano",
                             "yolox_nano.onnx")
    onnx_bytes = open(onnx_path, "rb").read()
    name = sorted(os.listdir(IMAGES))[0]
    tensor320, _ = region_tensor(os.path.join(IMAGES, name))
    from PIL import Image
    tensor416 = np.expand_dims(np.asarray(Image.fromarray(tensor320[0]).resize((416, 416), Image.BILINEAR)), 0)

    endpoint = "ipc:///tmp/accel-zmq-models-%s" % uuid.uuid4().hex[:12]
    with Server("--engines", "cpu", "--zmq-endpoint", endpoint, "--zmq-timeout-ms", "10000") as srv:
        # 1. known names.
        for path in ("/config/model_cache/yolox_nano.onnx", "/models/yolox-nano"):
            client = FrigateZmqClient(endpoint, model_path=path, timeout_ms=10000)
            hello, ms = timed(client.handshake)
            check(hello.get("model_available") is True and hello.get("model_loaded") is True
                  and hello.get("model_name") == "yolox-nano", "%s: handshake %r" % (path, hello))
            check(ms < 1000, "%s: handshake took %.0f ms" % (path, ms))
            reference = expect_rows(client, tensor416, path)
            print("ok  known name %r -> yolox-nano (%.0f ms)" % (os.path.basename(path), ms))

        # 2. unknown name, uploads off.
        stranger = FrigateZmqClient(endpoint, model_path="/config/model_cache/yolov9-t.onnx", timeout_ms=10000)
        hello, ms = timed(stranger.handshake)
        check(hello.get("model_available") is False and hello.get("model_loaded") is False and hello.get("error"),
              "unknown model: handshake %r" % hello)
        check(ms < 1000, "unknown model: handshake took %.0f ms" % ms)
        up, ms = timed(stranger.send_model_data, onnx_bytes)
        check(up.get("model_saved") is False and "--zmq-accept-models" in up.get("error", ""), "upload off: %r" % up)
        check(ms < 1000, "refused upload took %.0f ms" % ms)
        (rows, err), ms = timed(stranger.detect_raw, tensor416)
        check(not rows.any() and err and "yolov9-t.onnx" in err["error"] and ms < 1000,
              "tensor for an unknown model: %r in %.0f ms" % (err, ms))
        expect_rows(client, tensor416, "after the unknown model")
        print("ok  unknown name: not available, upload refused (uploads off), its tensors answered empty at once")

        # 3. wrong tensors for the chosen model.
        before = srv.log_text().count("request refused")
        bad = [
            ("4 channels", {"shape": [1, 416, 416, 4], "dtype": "uint8"}, np.zeros((1, 416, 416, 4), np.uint8)),
            ("batch of 2", {"shape": [2, 416, 416, 3], "dtype": "uint8"}, np.zeros((2, 416, 416, 3), np.uint8)),
            ("float64", {"shape": [1, 416, 416, 3], "dtype": "float64"}, np.zeros((1, 416, 416, 3), np.float64)),
            ("no channels", {"shape": [1, 416, 416], "dtype": "uint8"}, np.zeros((1, 416, 416), np.uint8)),
        ]
        for _ in range(10):
            for what, header, payload in bad:
                (rows, err), ms = timed(send, client, dict(header, model_type="yolox"), payload.tobytes())
                check(rows.shape == (20, 6) and not rows.any(), "%s: reply is not 20x6 zeros" % what)
                check(err and "yolox-nano" in err["error"] and "416x416" in err["error"], "%s: error %r" % (what, err))
                check(ms < 1000, "%s: answered in %.0f ms" % (what, ms))
        logged = srv.log_text().count("request refused") - before
        check(logged <= 1, "%d log lines for 40 refused tensors within seconds (rate limit: 1 per 10 s)" % logged)
        # Past the interval, the next refusal is logged with the number left out.
        time.sleep(10.5)
        send(client, dict(bad[0][1], model_type="yolox"), bad[0][2].tobytes())
        last = [l for l in srv.log_text().splitlines() if "request refused" in l][-1]
        more = int(last.split("(and ")[1].split(" more")[0]) if "(and " in last else 0
        check("yolox-nano" in last and more >= 40 - logged, "rate-limited log line: %r" % last)
        expect_rows(client, tensor416, "after wrong tensors")
        for _ in range(3):
            expect_rows(client, tensor320, "320x320 tensor")
        notes = srv.log_text().count("320x320 tensors are letterboxed")
        check(notes == 1, "the 320x320 size note was logged %d times" % notes)
        print("ok  wrong tensors: 40 empty answers at once, %d log line, then one counting %d left out; 320x320 "
              "served, noted once" % (logged, more))
        check(srv.alive(), "server died")

    # 4. uploads on.
    tmp = tempfile.TemporaryDirectory()
    uploads = os.path.join(tmp.name, "uploads")
    endpoint = "ipc:///tmp/accel-zmq-models-%s" % uuid.uuid4().hex[:12]
    with Server("--engines", "cpu", "--zmq-endpoint", endpoint, "--zmq-timeout-ms", "10000",
                "--zmq-accept-models", uploads) as srv:
        check(os.path.isdir(uploads), "upload folder not created")
        check("zmq model uploads are on" in srv.log_text(), "no warning that uploads are on")
        known = FrigateZmqClient(endpoint, timeout_ms=10000)
        known.handshake()
        reference = expect_rows(known, tensor416, "repository model")

        for what, payload in (("random bytes", os.urandom(20000)), ("a zip (TorchScript)", b"PK\x03\x04" + os.urandom(5000)),
                              ("TFLite", b"\x1c\x00\x00\x00TFL3" + os.urandom(5000)),
                              ("truncated ONNX", onnx_bytes[:len(onnx_bytes) // 2])):
            c = FrigateZmqClient(endpoint, model_path="/config/model_cache/garbage.onnx", timeout_ms=30000)
            check(c.handshake().get("model_available") is False, "garbage: available before upload")
            up = c.send_model_data(payload)
            check(up.get("model_saved") is False and up.get("model_loaded") is False and up.get("error"),
                  "%s upload: %r" % (what, up))
            check(os.listdir(uploads) == [], "%s upload left %r behind" % (what, os.listdir(uploads)))
            print("ok  %s refused: %s" % (what, up["error"][:90]))
        expect_rows(known, tensor416, "after refused uploads")

        # Frigate's flow: unknown name -> upload -> loaded -> used.
        frigate = FrigateZmqClient(endpoint, model_path="/config/model_cache/my_yolox.onnx", timeout_ms=30000)
        hello = frigate.handshake()
        check(hello.get("model_available") is False, "my_yolox before upload: %r" % hello)
        up, ms = timed(frigate.send_model_data, onnx_bytes)
        check(up.get("model_saved") is True and up.get("model_loaded") is True and up.get("model_name") == "my_yolox",
              "upload: %r" % up)
        saved = os.path.join(uploads, "my_yolox", "my_yolox.onnx")
        check(os.path.isfile(saved) and open(saved, "rb").read() == onnx_bytes, "uploaded file not saved as %s" % saved)
        yaml_text = open(os.path.join(uploads, "my_yolox", "model.yaml")).read()
        check(yaml_text.startswith("# Written by accel") and "family: yolox" in yaml_text, "model.yaml: %s" % yaml_text[:200])
        rows = expect_rows(frigate, tensor416, "uploaded model")
        check(np.allclose(rows, reference, atol=1e-4), "uploaded model's rows differ from the repository model's")
        again = FrigateZmqClient(endpoint, model_path="/config/model_cache/my_yolox.onnx", timeout_ms=10000)
        hello = again.handshake()
        check(hello.get("model_available") is True and hello.get("model_loaded") is True
              and hello.get("model_name") == "my_yolox", "handshake after upload: %r" % hello)
        check(np.allclose(expect_rows(again, tensor416, "reconnected"), reference, atol=1e-4), "reconnected rows differ")
        st, listing = srv.json("POST", "/v1/vision/custom/list", {})
        check("my_yolox" in listing["models"], "custom/list after upload: %r" % listing)
        print("ok  upload: saved, loaded in %.0f ms, same rows as the repository model, then available by name" % ms)

        # A path and odd characters in the name stay inside the upload folder.
        sneaky = FrigateZmqClient(endpoint, model_path="/x/../../escape me.onnx", timeout_ms=30000)
        up = sneaky.send_model_data(onnx_bytes)
        check(up.get("model_saved") is True and up.get("model_name") == "escape_me", "sanitised upload: %r" % up)
        check(sorted(os.listdir(tmp.name)) == ["uploads"], "files outside the upload folder: %r" % os.listdir(tmp.name))
        check(sorted(os.listdir(uploads)) == ["escape_me", "my_yolox"], "upload folder: %r" % os.listdir(uploads))
        st, r = srv.json("GET", "/ai/models")
        check(any(m["name"] == "escape_me" for m in r["models"]), "escape_me not loaded")
        print("ok  '../../escape me.onnx' saved as %s/escape_me/escape_me.onnx" % os.path.basename(uploads))

        # Never replaces a repository model.
        clash = FrigateZmqClient(endpoint, model_path="/config/yolox-nano.onnx", timeout_ms=30000)
        up = clash.send_model_data(onnx_bytes)
        check(up.get("model_saved") is False and "already served" in up.get("error", ""), "clash: %r" % up)
        check("yolox-nano" not in os.listdir(uploads), "clashing upload was saved")
        expect_rows(known, tensor416, "after all uploads")
        body, ctype = multipart({}, {"image": ("image", open(os.path.join(IMAGES, name), "rb").read(), "image/jpeg")})
        st, _, data = srv.request("POST", "/v1/vision/custom/my_yolox", body, {"Content-Type": ctype})
        check(st == 200 and json.loads(data)["model_name"] == "my_yolox", "HTTP on the uploaded model: %d" % st)
        check(srv.alive(), "server died")
        print("ok  an upload named like a repository model is refused; the uploaded model serves HTTP too")
    tmp.cleanup()
    print("PASS")


if __name__ == "__main__":
    main()
