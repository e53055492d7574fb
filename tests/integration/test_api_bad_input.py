"""Bad input: malformed requests of every kind each get a 4xx JSON error ({"success": false, "error": ...})
and the server keeps answering."""
import base64
import json
import os
import socket
import struct
import zlib

from accel_testlib import IMAGES, Server, fail, multipart

JPEG = open(os.path.join(IMAGES, "000000000139.jpg"), "rb").read()


def png(width, height, rgb=None, declared=None):
    """A valid PNG (RGB8); `declared` overrides the IHDR size without changing the data."""
    w, h = declared or (width, height)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + (rgb or bytes(width * 3)) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def jpeg_with_size(width, height):
    """The test JPEG with its SOF frame header patched to declare another size."""
    data = bytearray(JPEG)
    i = 2
    while i < len(data):
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5:i + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        i += 2 + length
    fail("no SOF marker in test JPEG")


def b64(data):
    return base64.b64encode(data).decode()


def main():
    ragged = [[[255, 0, 0, 255], [255, 255, 255], [255, 0, 0]]]  # the seed's ragged array
    corrupt_jpeg = JPEG[:600] + bytes((b * 7 + 13) & 0xFF for b in JPEG[600:4000])
    ok_png = png(4, 4)
    cases = []  # (description, method, path, body, headers, expected statuses)

    def ai_json(desc, payload, expect, raw=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        cases.append((desc, "POST", "/ai/infer", body, {"Content-Type": "application/json"}, expect))

    def deepstack(desc, fields, files, expect):
        body, ctype = multipart(fields, files)
        cases.append((desc, "POST", "/v1/vision/detection", body, {"Content-Type": ctype}, expect))

    ai_json("empty JSON body", None, {400}, raw=b"")
    ai_json("invalid JSON", None, {400}, raw=b'{"image_base64": ')
    ai_json("JSON array instead of object", None, {400}, raw=b"[1, 2, 3]")
    ai_json("seed ragged array", {"image": ragged}, {400})
    ai_json("flat array", {"image": [1, 2, 3]}, {400})
    ai_json("two-level nesting", {"image": [[1, 2, 3], [4, 5, 6]]}, {400})
    ai_json("rows of different length", {"image": [[[1, 2, 3], [4, 5, 6]], [[1, 2, 3]]]}, {400})
    ai_json("pixel value over 255", {"image": [[[256, 0, 0]]]}, {400})
    ai_json("negative pixel value", {"image": [[[-1, 0, 0]]]}, {400})
    ai_json("pixel values as strings", {"image": [[["a", "b", "c"]]]}, {400})
    ai_json("empty image array", {"image": []}, {400})
    ai_json("no image at all", {"threshold": 0.5}, {400})
    ai_json("both image and image_base64", {"image": [[[1, 2, 3]]], "image_base64": b64(ok_png)}, {400})
    ai_json("image_base64 is a number", {"image_base64": 12345}, {400})
    ai_json("invalid base64", {"image_base64": "@@@not-base64!!!"}, {400})
    ai_json("base64 of text, not an image", {"image_base64": b64(b"hello, this is not an image")}, {415})
    ai_json("truncated JPEG", {"image_base64": b64(JPEG[:1500])}, {400})
    ai_json("corrupt JPEG", {"image_base64": b64(corrupt_jpeg)}, {400})
    ai_json("truncated PNG", {"image_base64": b64(ok_png[:30])}, {400})
    ai_json("JPEG declaring 60000x60000", {"image_base64": b64(jpeg_with_size(60000, 60000))}, {413})
    ai_json("PNG declaring 100000x100000", {"image_base64": b64(png(4, 4, declared=(100000, 100000)))}, {413})
    ai_json("nested array over the pixel limit", None, {413, 400},
            raw=b'{"image": [' + b",".join([b"[" + b",".join([b"[0,0,0]"] * 9000) + b"]"] * 2) + b"]}")
    ai_json("non-numeric threshold", {"image_base64": b64(JPEG), "threshold": "abc"}, {400})
    ai_json("threshold out of range", {"image_base64": b64(JPEG), "threshold": 5}, {400})
    ai_json("threshold as object", {"image_base64": b64(JPEG), "threshold": {"x": 1}}, {400})
    ai_json("unknown model", {"image_base64": b64(JPEG), "model_name": "no-such-model"}, {404})
    ai_json("unknown engine", {"image_base64": b64(JPEG), "engine": "tpu"}, {400})
    ai_json("targets of wrong type", {"image_base64": b64(JPEG), "targets": 7}, {400})
    ai_json("negative timeout_ms", {"image_base64": b64(JPEG), "timeout_ms": -5}, {400})
    ai_json("max_results zero", {"image_base64": b64(JPEG), "max_results": 0}, {400})
    cases.append(("wrong content type text/plain", "POST", "/ai/infer", b"hello", {"Content-Type": "text/plain"}, {415}))
    cases.append(("wrong content type application/xml", "POST", "/v1/vision/detection", b"<x/>",
                  {"Content-Type": "application/xml"}, {415}))
    deepstack("deepstack without image field", {"min_confidence": "0.4"}, {}, {400})
    cases.append(("deepstack empty body", "POST", "/v1/vision/detection", b"",
                  {"Content-Type": "multipart/form-data; boundary=xyz"}, {400}))
    deepstack("deepstack image that is not an image", {}, {"image": ("x.jpg", b"GIF89a....", "image/jpeg")}, {415})
    deepstack("deepstack truncated JPEG", {}, {"image": ("x.jpg", JPEG[:2000], "image/jpeg")}, {400})
    deepstack("deepstack empty image file", {}, {"image": ("x.jpg", b"", "image/jpeg")}, {400})
    deepstack("deepstack non-numeric min_confidence", {"min_confidence": "lots"},
              {"image": ("x.jpg", JPEG, "image/jpeg")}, {400})
    body, ctype = multipart({}, {"image": ("x.jpg", JPEG, "image/jpeg")})
    cases.append(("deepstack truncated multipart", "POST", "/v1/vision/detection", body[: len(body) // 2],
                  {"Content-Type": ctype}, {400}))
    cases.append(("deepstack multipart without boundary", "POST", "/v1/vision/detection", body,
                  {"Content-Type": "multipart/form-data"}, {400}))
    cases.append(("GET on a POST endpoint", "GET", "/ai/infer", None, {}, {405}))
    cases.append(("unknown endpoint", "GET", "/ai/nothing-here", None, {}, {404}))
    cases.append(("body over the limit", "POST", "/ai/infer", b"{" + b" " * (3 << 20) + b"}",
                  {"Content-Type": "application/json"}, {413}))

    problems = []
    with Server("--max-body-mb", "2") as server:
        for desc, method, path, body, headers, expect in cases:
            status, hdrs, data = server.request(method, path, body, headers)
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
            if status not in expect:
                problems.append("%s: HTTP %d, expected %s: %r" % (desc, status, sorted(expect), data[:200]))
            elif not (isinstance(parsed, dict) and parsed.get("success") is False and parsed.get("error")):
                problems.append("%s: body is not {success: false, error}: %r" % (desc, data[:200]))
            elif "json" not in hdrs.get("content-type", ""):
                problems.append("%s: content type %s" % (desc, hdrs.get("content-type")))
            if not server.alive():
                fail("server died after: " + desc)
            hs, _, _ = server.request("GET", "/ai/health")
            if hs != 200:
                problems.append("%s: /ai/health answered %d afterwards" % (desc, hs))
            print("%-45s -> %d" % (desc, status), flush=True)

        # Garbage on the wire: the connection may be closed, the server must keep serving others.
        for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200), b"GET / HTTP/9.9\r\n\r\n",
                     b"POST /ai/infer HTTP/1.1\r\nContent-Length: -5\r\n\r\n", b"\r\n\r\n\r\n"):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(junk)
            try:
                s.recv(4096)
            except OSError:
                pass
            s.close()
            if not server.alive():
                fail("server died after raw junk %r" % junk[:20])
        # A good request still works after all of it.
        status, resp = server.json("POST", "/ai/infer", {"image_base64": b64(JPEG)})
        if status != 200 or not resp.get("detections"):
            problems.append("valid request after bad input failed: %d %s" % (status, resp))
    if problems:
        for p in problems:
            print("FAIL:", p)
        fail("%d of %d bad-input cases misbehaved" % (len(problems), len(cases)))
    print("api_bad_input: %d malformed requests, each answered 4xx JSON; server kept serving" % len(cases))


if __name__ == "__main__":
    main()
