#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses: fuzz/corpus/<harness>/ (docs/development.md, "Fuzzing").

Run from anywhere: python3 fuzz/make_corpus.py. Rewrites the seeds it makes and leaves other files alone.
Standard library only. The JPEG seeds of image_decode_fuzzer (*.jpg) are not made here: they were written
once with libjpeg-turbo's tjCompress2 (16x16 RGB 4:2:0, 17x9 4:4:4 progressive, 8x8 grayscale, 8x8 CMYK,
1x1 4:2:2, 40x24 4:4:0) and are kept as files; the other corpora embed rgb16_420.jpg.
"""

import base64
import json
import pathlib
import struct
import zlib

FUZZ = pathlib.Path(__file__).resolve().parent
CORPUS = FUZZ / "corpus"
JPEG = (CORPUS / "image_decode_fuzzer" / "rgb16_420.jpg").read_bytes()


def write(harness, name, data):
    folder = CORPUS / harness
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)


# --- PNG --------------------------------------------------------------------------------------------------


def png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png(width, height, depth, color, rows, interlace=0, extra=b""):
    """rows: the filtered scanlines (each starting with its filter byte), already in pass order if interlaced."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra +
            png_chunk(b"IDAT", zlib.compress(b"".join(rows))) + png_chunk(b"IEND", b""))


def rgb_rows(width, height, channels=3, sample_bytes=1, filter_type=0):
    rows = []
    for y in range(height):
        row = bytearray([filter_type])
        for x in range(width):
            for c in range(channels):
                row += ((x * 40 + y * 13 + c * 90) % 256).to_bytes(sample_bytes, "big")
        rows.append(bytes(row))
    return rows


def adam7_rows(width, height):
    """RGB8 scanlines of an Adam7-interlaced image, pass by pass (filter 0)."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    rows = []
    for x0, y0, dx, dy in passes:
        xs = range(x0, width, dx)
        if not xs:
            continue
        for y in range(y0, height, dy):
            row = bytearray([0])
            for x in xs:
                row += bytes(((x * 40 + y * 13 + c * 90) % 256) for c in range(3))
            rows.append(bytes(row))
    return rows


def image_seeds():
    h = "image_decode_fuzzer"
    write(h, "rgb16.png", png(16, 16, 8, 2, rgb_rows(16, 16, filter_type=1)))
    write(h, "rgba16bit_5x3.png", png(5, 3, 16, 6, rgb_rows(5, 3, channels=4, sample_bytes=2, filter_type=4)))
    write(h, "gray1bit_9x2.png", png(9, 2, 1, 0, [b"\x00\xa5\x80", b"\x02\x0f\x00"]))
    write(h, "graya_3x3.png", png(3, 3, 8, 4, rgb_rows(3, 3, channels=2, filter_type=3)))
    palette = png_chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]))
    trns = png_chunk(b"tRNS", bytes([0, 128]))
    write(h, "palette2bit_6x2.png", png(6, 2, 2, 3, [b"\x00\x1b\x20", b"\x02\xe4\x00"], extra=palette + trns))
    write(h, "adam7_11x10.png", png(11, 10, 8, 2, adam7_rows(11, 10), interlace=1))
    text = png_chunk(b"tEXt", b"Comment\x00fuzz seed")
    write(h, "rgb2x2_text.png", png(2, 2, 8, 2, rgb_rows(2, 2), extra=text))
    full = png(16, 16, 8, 2, rgb_rows(16, 16))
    write(h, "truncated.png", full[: len(full) - 20])
    write(h, "truncated.jpg", JPEG[: len(JPEG) // 2])


# --- multipart and forms ------------------------------------------------------------------------------------


def multipart(boundary, parts, line_end="\r\n", preamble="", epilogue=""):
    body = preamble
    for headers, data in parts:
        body += "--" + boundary + line_end
        for header in headers:
            body += header + line_end
        body += line_end + data + line_end
    return body + "--" + boundary + "--" + line_end + epilogue


def image_part(name="image", filename="cam.jpg"):
    return ([f'Content-Disposition: form-data; name="{name}"; filename="{filename}"', "Content-Type: image/jpeg"],
            JPEG.decode("latin-1"))


def field(name, value):
    return ([f'Content-Disposition: form-data; name="{name}"'], value)


def latin1(text):
    return text.encode("latin-1")


def multipart_seeds():
    h = "multipart_fuzzer"
    write(h, "deepstack_upload", latin1("multipart/form-data; boundary=XyZ\n" + multipart(
        "XyZ", [image_part(), field("min_confidence", "0.4")])))
    write(h, "lf_preamble_epilogue", latin1('multipart/form-data; boundary="a b:c"\n' + multipart(
        "a b:c", [field("model", "yolox-nano"), field("empty", "")], line_end="\n", preamble="ignored\n",
        epilogue="trailing")))
    write(h, "filename_star_padding", "Multipart/Form-Data; charset=utf-8; boundary=--q\n"
          "--q  \t\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''na%C3%AFve.jpg\r\n"
          "X-Other: 1\r\n\r\ndata\r\n--q--\r\n")
    write(h, "truncated", "multipart/form-data; boundary=b\n--b\r\nContent-Disposition: form-data; name=x\r\n\r\nab")
    write(h, "urlencoded", "application/x-www-form-urlencoded\nimage_base64=Zm9v%2Bbar%3D&min_confidence=0.5&a+b=c+d&&x")


# --- base64 -------------------------------------------------------------------------------------------------


def base64_seeds():
    h = "base64_fuzzer"
    encoded = base64.b64encode(JPEG).decode()
    write(h, "data_url_jpeg", "data:image/jpeg;base64," + encoded)
    write(h, "mime_wrapped", "\r\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76)) + "\r\n")
    write(h, "url_safe_unpadded", base64.urlsafe_b64encode(b"\xfb\xff\xfe?>").decode().rstrip("="))
    write(h, "padding", "Zg==")
    write(h, "bad_char", "Zm9v!YmFy")
    write(h, "stray_last", "Zm9vY")


# --- /ai/infer and DeepStack --------------------------------------------------------------------------------


def infer_request_seeds():
    h = "infer_request_fuzzer"
    b64 = base64.b64encode(JPEG).decode()
    write(h, "json_base64", "application/json\n\n" + json.dumps(
        {"image_base64": "data:image/jpeg;base64," + b64, "threshold": 0.3, "targets": ["person", "car"],
         "max_results": 5, "engine": "auto", "timeout_ms": 2000}))
    pixels = [[[(x * 60 + c * 20) % 256 for c in range(3)] for x in range(3)] for _ in range(2)]
    write(h, "json_nested_array", "application/json; charset=utf-8\n\n" + json.dumps(
        {"image": pixels, "model_name": "tiny", "min_confidence": "0.5", "targets": "person,dog"}))
    write(h, "json_rgba_no_type", "\n\n" + json.dumps({"image": [[[1, 2, 3, 255], [4, 5, 6, 0]]], "engine": "sim"}))
    write(h, "deepstack_multipart", latin1("multipart/form-data; boundary=XyZ\n\n" + multipart(
        "XyZ", [image_part(), field("min_confidence", "0.4"), field("api_key", "k"), field("targets", '["cat"]')])))
    write(h, "urlencoded", "application/x-www-form-urlencoded\n\nimage_base64=" + b64.replace("+", "%2B") +
          "&threshold=0.2&max_results=3")
    write(h, "raw_jpeg_query", latin1("image/jpeg\nmin_confidence=0.4&targets=person%2Ccar&model=tiny\n" +
                                      JPEG.decode("latin-1")))


# --- KServe over HTTP -------------------------------------------------------------------------------------------


def bytes_element(data):
    return struct.pack("<I", len(data)) + data


def kserve_http_seeds():
    h = "kserve_http_fuzzer"
    raw = bytes((i * 7) % 256 for i in range(3 * 32 * 32))
    header = json.dumps({"id": "r1", "inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, 3, 32, 32],
                                                 "parameters": {"binary_data_size": len(raw)}}],
                         "outputs": [{"name": "output", "parameters": {"binary_data": True}}]}).encode()
    write(h, "raw_binary", b"tiny/infer\n" + str(len(header)).encode() + b"\n" + header + raw)
    element = bytes_element(JPEG)
    header = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                     "parameters": {"binary_data_size": len(element)}}],
                         "parameters": {"threshold": 0.2, "max_results": 10, "binary_data_output": False}}).encode()
    write(h, "detect_binary", b"tiny-detect/versions/1/infer\n" + str(len(header)).encode() + b"\n" + header + element)
    write(h, "detect_outputs", "tiny-detect/infer\n\n" + json.dumps(
        {"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": ["not an image"]}],
         "outputs": [{"name": "boxes"}, {"name": "labels", "parameters": {"binary_data": False}}]}))
    write(h, "raw_json_nested", "tiny/infer\n\n" + json.dumps(
        {"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, 3, 32, 32],
                     "data": [[[[(x + y + c) % 256 for x in range(32)] for y in range(32)] for c in range(3)]]}],
         "parameters": {"engine": "sim"}}, separators=(",", ":")))
    write(h, "typed_elements", "other%2Fmodel/infer\n\n" + json.dumps(
        {"inputs": [{"name": "a", "datatype": "FP32", "shape": [2], "data": [1.5, -2]},
                    {"name": "b", "datatype": "BOOL", "shape": [1, 1], "data": [[True]]},
                    {"name": "c", "datatype": "INT64", "shape": [0], "data": []},
                    {"name": "d", "datatype": "UINT16", "shape": [1], "data": [65535]},
                    {"name": "e", "datatype": "BYTES", "shape": [2], "data": ["x", ""]}]}))
    header = json.dumps({"inputs": [{"name": "h", "datatype": "FP16", "shape": [1],
                                     "parameters": {"binary_data_size": 2}}]}).encode()
    write(h, "fp16_binary", b"tiny/infer\n" + str(len(header)).encode() + b"\n" + header + b"\x00\x3c")


# --- KServe over gRPC ---------------------------------------------------------------------------------------


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field_bytes(number, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def packed(number, values):
    return field_bytes(number, b"".join(varint(v) for v in values))


def parameter(key, kind, value):
    """A map<string, InferParameter> entry: kind is bool/int64/string/double/uint64."""
    if kind == "string":
        p = field_bytes(3, value)
    elif kind == "double":
        p = varint(4 << 3 | 1) + struct.pack("<d", value)
    else:
        p = field_varint({"bool": 1, "int64": 2, "uint64": 5}[kind], value)
    return field_bytes(1, key) + field_bytes(2, p)


def infer_input(name, datatype, shape, params=b"", contents=None):
    msg = field_bytes(1, name) + field_bytes(2, datatype) + packed(3, shape) + params
    if contents is not None:
        msg += field_bytes(5, contents)
    return msg


def kserve_grpc_seeds():
    h = "kserve_grpc_fuzzer"
    raw = bytes((i * 5) % 256 for i in range(3 * 32 * 32))
    write(h, "raw_tiny", field_bytes(1, "tiny") + field_bytes(3, "id-1") +
          field_bytes(4, parameter("engine", "string", "auto")) +
          field_bytes(5, infer_input("images", "UINT8", [1, 3, 32, 32])) + field_bytes(6, field_bytes(1, "output")) +
          field_bytes(7, raw))
    write(h, "detect_bytes_contents", field_bytes(1, "tiny-detect") + field_bytes(2, "1") +
          field_bytes(4, parameter("threshold", "double", 0.25)) + field_bytes(4, parameter("max_results", "int64", 7)) +
          field_bytes(5, infer_input("image", "BYTES", [1], contents=field_bytes(8, JPEG))) +
          field_bytes(6, field_bytes(1, "boxes")) + field_bytes(6, field_bytes(1, "count")))
    write(h, "detect_raw", field_bytes(1, "tiny-detect") + field_bytes(5, infer_input("image", "BYTES", [1])) +
          field_bytes(7, bytes_element(JPEG)))
    typed = (field_bytes(5, infer_input("i8", "INT8", [2], contents=packed(2, [-3, 127]))) +
             field_bytes(5, infer_input("u16", "UINT16", [1, 2], contents=packed(4, [1, 65535]))) +
             field_bytes(5, infer_input("f", "FP32", [1], contents=field_bytes(6, struct.pack("<f", 0.5)))) +
             field_bytes(5, infer_input("b", "BOOL", [1], contents=packed(1, [1]))))
    write(h, "typed_contents", field_bytes(1, "tiny") + typed + field_bytes(4, parameter("flag", "bool", 1)) +
          field_bytes(4, parameter("big", "uint64", 1 << 63)))
    shm = (field_bytes(4, parameter("shared_memory_region", "string", "r")) +
           field_bytes(4, parameter("shared_memory_byte_size", "uint64", 3072)))
    write(h, "shared_memory", field_bytes(1, "tiny") + field_bytes(5, infer_input("images", "UINT8", [1, 3, 32, 32],
                                                                                  params=shm)))
    write(h, "two_raw_split", field_bytes(1, "tiny") + field_bytes(7, b"ab") + field_bytes(5, infer_input("x", "FP16", [1])) +
          field_bytes(7, b"cd") + field_bytes(5, infer_input("y", "INT32", [0])))


# --- zmq ----------------------------------------------------------------------------------------------------


def frames(*parts):
    return b"".join(struct.pack("<H", len(p)) + p for p in parts)


def zmq_seeds():
    h = "zmq_detector_fuzzer"
    peer = b"\x00\x80\x00\x41\xa7"
    header = lambda **kw: json.dumps(kw).encode()
    write(h, "model_request", frames(peer, b"", header(model_request=True, model_name="yolov9")))
    write(h, "handshake_tiny", frames(peer, b"", header(model_request=True, model_name="tiny.onnx")))
    write(h, "model_data", frames(peer, b"", header(model_data=True, model_name="m"), b"\x00onnx"))
    write(h, "uint8_nhwc", frames(peer, b"", header(shape=[1, 8, 8, 3], dtype="uint8", model_type="yolo-generic"),
                                  bytes((i * 3) % 256 for i in range(8 * 8 * 3))))
    floats = b"".join(struct.pack("<f", (i % 10) / 10) for i in range(3 * 4 * 4))
    write(h, "float_nchw", frames(peer, b"", header(shape=[1, 3, 4, 4], dtype="float32"), floats))
    denorm = b"".join(struct.pack("<f", float(i * 5 % 256)) for i in range(4 * 5 * 3))
    write(h, "float_denorm_hwc_no_delimiter", frames(peer, header(shape=[4, 5, 3], dtype="float32"), denorm))
    write(h, "bad_header", frames(peer, b"", b"[1,2]", b"x", b"y"))


# --- zmq model uploads (ONNX) --------------------------------------------------------------------------------


def value_info(name, elem_type, dims):
    """onnx ValueInfoProto: name, type { tensor_type { elem_type, shape { dim { dim_value | dim_param } } } }."""
    shape = b"".join(field_bytes(1, field_varint(1, d) if isinstance(d, int) else field_bytes(2, d)) for d in dims)
    tensor = field_varint(1, elem_type) + field_bytes(2, shape)
    return field_bytes(1, name) + field_bytes(2, field_bytes(1, tensor))


def onnx_model(inputs, outputs, initializers=(), ir_version=7):
    graph = field_bytes(2, "g")
    graph += b"".join(field_bytes(5, field_bytes(8, n) + field_varint(2, 1)) for n in initializers)
    graph += b"".join(field_bytes(11, value_info(*i)) for i in inputs)
    graph += b"".join(field_bytes(12, value_info(*o)) for o in outputs)
    return field_varint(1, ir_version) + field_bytes(2, "pytorch") + field_bytes(7, graph)


def onnx_upload_seeds():
    h = "onnx_upload_fuzzer"
    # YOLOX on 64x64: (8x8 + 4x4 + 2x2) = 84 anchors, 80 classes.
    yolox = onnx_model([("images", 1, ["batch", 3, 64, 64])], [("output", 1, [1, 84, 85])])
    write(h, "yolox_nchw", b"yolox_tiny.onnx\n" + yolox)
    write(h, "yolox_nhwc_uint8_classes", b"/config/model_cache/My Model!.onnx\n" +
          onnx_model([("in", 2, [2, 32, 32, 3])], [("out:0", 1, [2, 21, 7])], initializers=["w"]))
    write(h, "weights_as_inputs", b"m\n" + onnx_model([("x", 1, [1, 3, 32, 32]), ("w", 1, [8])],
                                                      [("y", 1, [1, 21, 6])], initializers=["w"], ir_version=3))
    write(h, "two_outputs", b"..\\a.b.c\n" + onnx_model([("x", 1, [1, 3, 32, 32])],
                                                          [("boxes", 1, [1, 21, 4]), ("scores", 1, [1, 21])]))
    write(h, "not_onnx", b"model.pt\nPK\x03\x04torchscript")
    # Regressions (tests/unit/api/zmq_model_store_test.cc, DescribesOnlyWhatAModelYamlCanHold).
    write(h, "huge_class_count", b"yolox.onnx\n" + onnx_model([("images", 1, ["batch", 3, 64, 64])],
                                                              [("output", 1, [1, 84, 1 << 40])]))
    write(h, "huge_fixed_batch", b"yolox.onnx\n" + onnx_model([("images", 1, [1 << 40, 3, 64, 64])],
                                                              [("output", 1, [1, 84, 85])]))


def main():
    image_seeds()
    multipart_seeds()
    base64_seeds()
    infer_request_seeds()
    kserve_http_seeds()
    kserve_grpc_seeds()
    zmq_seeds()
    onnx_upload_seeds()


if __name__ == "__main__":
    main()
