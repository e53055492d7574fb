"""Access control through the real `accel serve` on every HTTP and gRPC front end (issue 14): with keys set,
requests without a key are refused (401 / UNAUTHENTICATED) and accepted with it, admin routes refuse the
inference key (403 / PERMISSION_DENIED), a cross-site form POST cannot unload a model, repository control is
off unless enabled, and observability routes stay open unless closed by flag. The zmq front end's own
allow-list and CURVE tests live in their own file."""
import base64
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from accel_testlib import IMAGES, Server, fail, multipart  # noqa: E402

import grpc  # noqa: E402  (Debian's python3-grpcio)

IMAGE = os.path.join(IMAGES, "000000000139.jpg")
MODEL = "yolox-nano"
USER, ADMIN = "user-key-0123", "admin-key-4567"
failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        failures.append(msg)


def jpeg():
    with open(IMAGE, "rb") as f:
        return f.read()


def seed_infer(server, headers=None, api_key=None):
    body = {"image_base64": base64.b64encode(jpeg()).decode()}
    if api_key is not None:
        body["api_key"] = api_key
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return server.request("POST", "/ai/infer", json.dumps(body).encode(), h)


def http_keys(server):
    st, hdrs, data = seed_infer(server)
    check(st == 401 and "bearer" in hdrs.get("www-authenticate", "").lower() and b"X-API-Key" in data,
          "/ai/infer without a key -> %d %s" % (st, data[:100]))
    st, _, _ = seed_infer(server, {"X-API-Key": "wrong"})
    check(st == 401, "/ai/infer with a wrong X-API-Key -> %d" % st)
    st, _, _ = seed_infer(server, {"X-API-Key": USER})
    check(st == 200, "/ai/infer with X-API-Key -> %d" % st)
    st, _, _ = seed_infer(server, {"Authorization": "Bearer " + USER})
    check(st == 200, "/ai/infer with Authorization: Bearer -> %d" % st)
    st, _, _ = seed_infer(server, api_key=USER)
    check(st == 200, "/ai/infer with an api_key field -> %d" % st)
    st, _, _ = seed_infer(server, api_key="wrong")
    check(st == 401, "/ai/infer with a wrong api_key field -> %d" % st)
    st, _, _ = seed_infer(server, {"Authorization": "Bearer " + ADMIN})
    check(st == 200, "/ai/infer with the admin key -> %d" % st)

    # DeepStack / CodeProject.AI / Frigate send the key as a form field.
    for fields, want in (({}, 401), ({"api_key": "wrong"}, 401), ({"api_key": USER}, 200)):
        body, ctype = multipart(fields, {"image": ("a.jpg", jpeg(), "image/jpeg")})
        st, _, data = server.request("POST", "/v1/vision/detection", body, {"Content-Type": ctype})
        ok = st == want and (want != 200 or json.loads(data).get("success") is True)
        check(ok, "/v1/vision/detection form %s -> %d" % (fields, st))

    # The same for CodeProject.AI's custom-model routes; its model list takes the key as a form field, in
    # the query or in a header.
    for fields, want in (({}, 401), ({"api_key": "wrong"}, 401), ({"api_key": USER}, 200)):
        body, ctype = multipart(fields, {"image": ("a.jpg", jpeg(), "image/jpeg")})
        st, _, data = server.request("POST", "/v1/vision/custom/" + MODEL, body, {"Content-Type": ctype})
        ok = st == want and (want != 200 or json.loads(data).get("success") is True)
        check(ok, "/v1/vision/custom/%s form %s -> %d" % (MODEL, fields, st))
        body, ctype = multipart(fields, {})
        st, _, data = server.request("POST", "/v1/vision/custom/list", body, {"Content-Type": ctype})
        check(st == want, "/v1/vision/custom/list form %s -> %d" % (fields, st))
    st, _, _ = server.request("POST", "/v1/vision/custom/list?api_key=" + USER, b"")
    st_header, _, _ = server.request("POST", "/v1/vision/custom/list", b"", {"X-API-Key": USER})
    check(st == 200 and st_header == 200, "/v1/vision/custom/list key in query -> %d, header -> %d" % (st, st_header))

    # KServe and metadata routes take the key in headers only.
    for path in ("/v2/models/" + MODEL, "/v2", "/ai/models", "/ai/engines"):
        st, _, _ = server.request("GET", path)
        st_key, _, _ = server.request("GET", path, headers={"X-API-Key": USER})
        check(st == 401 and st_key == 200, "GET %s: %d without a key, %d with" % (path, st, st_key))
    # Observability stays open by default (health checks of compose and Kubernetes need no key).
    for path in ("/ai/health", "/v2/health/ready", "/v2/health/live", "/metrics", "/ai/stats", "/",
                 "/v1/server/status/ping", "/v1/status/updateavailable"):
        st, _, _ = server.request("GET", path)
        check(st == 200, "GET %s open by default -> %d" % (path, st))


def http_admin(server):
    unload = "/v2/repository/models/%s/unload" % MODEL
    load = "/v2/repository/models/%s/load" % MODEL
    json_ct = {"Content-Type": "application/json"}
    st, _, _ = server.request("POST", unload, b"{}", json_ct)
    check(st == 401, "unload without a key -> %d" % st)
    st, _, data = server.request("POST", unload, b"{}", dict(json_ct, **{"X-API-Key": USER}))
    check(st == 403 and b"admin key" in data, "unload with the inference key -> %d %s" % (st, data[:100]))
    body, ctype = multipart({}, {"image": ("a.jpg", jpeg(), "image/jpeg")})
    st, _, _ = server.request("POST", "/ai/validate", body, {"Content-Type": ctype, "X-API-Key": USER})
    check(st == 403, "/ai/validate with the inference key -> %d" % st)
    st, _, _ = server.request("POST", "/ai/validate", body, {"Content-Type": ctype, "X-API-Key": ADMIN})
    check(st == 200, "/ai/validate with the admin key -> %d" % st)
    st, _, _ = server.request("POST", unload, b"{}", dict(json_ct, **{"Authorization": "Bearer " + ADMIN}))
    check(st == 200, "unload with the admin key -> %d" % st)
    st, _, _ = server.request("GET", "/v2/models/%s/ready" % MODEL, headers={"X-API-Key": USER})
    check(st != 200, "model not ready after the admin unload -> %d" % st)
    st, _, _ = server.request("POST", load, b"", {"X-API-Key": ADMIN})
    check(st == 200, "load with the admin key (no body) -> %d" % st)
    st, _, _ = seed_infer(server, {"X-API-Key": USER})
    check(st == 200, "inference after reload -> %d" % st)


def grpc_call(port, method, request=b"", key=None, header="x-api-key"):
    """Generic unary call with hand-encoded bytes; returns (code, response bytes)."""
    with grpc.insecure_channel("127.0.0.1:%d" % port) as channel:
        call = channel.unary_unary("/inference.GRPCInferenceService/" + method,
                                   request_serializer=None, response_deserializer=None)
        metadata = []
        if key is not None:
            metadata.append((header, key if header == "x-api-key" else "Bearer " + key))
        try:
            return grpc.StatusCode.OK, call(request, metadata=metadata, timeout=10)
        except grpc.RpcError as e:
            return e.code(), b""


def proto_string(field, text):
    data = text.encode()
    return bytes([field << 3 | 2, len(data)]) + data


def grpc_keys(port):
    code, _ = grpc_call(port, "ServerLive")
    check(code == grpc.StatusCode.OK, "gRPC ServerLive open -> %s" % code)
    meta_req = proto_string(1, MODEL)  # ModelMetadataRequest.name
    code, _ = grpc_call(port, "ModelMetadata", meta_req)
    check(code == grpc.StatusCode.UNAUTHENTICATED, "gRPC ModelMetadata without a key -> %s" % code)
    code, _ = grpc_call(port, "ModelMetadata", meta_req, key="wrong")
    check(code == grpc.StatusCode.UNAUTHENTICATED, "gRPC ModelMetadata with a wrong key -> %s" % code)
    code, data = grpc_call(port, "ModelMetadata", meta_req, key=USER)
    check(code == grpc.StatusCode.OK and MODEL.encode() in data, "gRPC ModelMetadata with x-api-key -> %s" % code)
    code, _ = grpc_call(port, "ModelMetadata", meta_req, key=USER, header="authorization")
    check(code == grpc.StatusCode.OK, "gRPC ModelMetadata with authorization: Bearer -> %s" % code)
    code, _ = grpc_call(port, "ModelInfer", proto_string(1, MODEL))
    check(code == grpc.StatusCode.UNAUTHENTICATED, "gRPC ModelInfer without a key -> %s" % code)
    # Shared-memory registration is an admin operation: the inference key is not enough.
    register = proto_string(1, "r") + proto_string(2, "/accel_auth_test")
    code, _ = grpc_call(port, "SystemSharedMemoryRegister", register, key=USER)
    check(code == grpc.StatusCode.PERMISSION_DENIED, "gRPC shm register with the inference key -> %s" % code)
    # The streaming method is refused at once without a key.
    with grpc.insecure_channel("127.0.0.1:%d" % port) as channel:
        stream = channel.stream_stream("/inference.GRPCInferenceService/ModelStreamInfer",
                                       request_serializer=None, response_deserializer=None)
        try:
            list(stream(iter([proto_string(1, MODEL)]), timeout=10))
            code = grpc.StatusCode.OK
        except grpc.RpcError as e:
            code = e.code()
        check(code == grpc.StatusCode.UNAUTHENTICATED, "gRPC ModelStreamInfer without a key -> %s" % code)


def csrf_and_repository_control():
    # No keys at all, repository control on: a cross-site form or an empty no-cors POST must not unload.
    with Server("--engines", "cpu", "--repository-control", "true") as server:
        unload = "/v2/repository/models/%s/unload" % MODEL
        for headers, what in (({"Content-Type": "application/x-www-form-urlencoded"}, "form-encoded"),
                              ({"Content-Type": "text/plain"}, "text/plain"), ({}, "no content type")):
            st, _, _ = server.request("POST", unload, b"", headers)
            check(st == 415, "cross-site style unload (%s) -> %d" % (what, st))
        st, _, _ = server.request("GET", "/v2/models/%s/ready" % MODEL)
        check(st == 200, "model still loaded after the cross-site attempts -> %d" % st)
        st, _, _ = server.request("POST", unload, b"{}", {"Content-Type": "application/json"})
        check(st == 200, "unload with a JSON content type -> %d" % st)
    # Default: repository control off, load and unload refused whatever the client sends.
    with Server("--engines", "cpu") as server:
        st, _, data = server.request("POST", "/v2/repository/models/%s/unload" % MODEL, b"{}",
                                     {"Content-Type": "application/json"})
        check(st == 403 and b"--repository-control" in data, "unload with control off -> %d %s" % (st, data[:90]))
        st, _, _ = server.request("GET", "/v2/models/%s/ready" % MODEL)
        check(st == 200, "model still loaded with control off -> %d" % st)


def closed_observability():
    with Server("--engines", "cpu", "--api-key", USER, "--open-observability", "false") as server:
        for path in ("/metrics", "/ai/health", "/v2/health/ready", "/ai/stats", "/v1/server/status/ping"):
            st, _, _ = server.request("GET", path)
            st_key, _, _ = server.request("GET", path, headers={"Authorization": "Bearer " + USER})
            check(st == 401 and st_key == 200, "closed GET %s: %d without a key, %d with" % (path, st, st_key))


def main():
    port_dir = tempfile.TemporaryDirectory()
    grpc_port_file = os.path.join(port_dir.name, "grpc.port")
    with Server("--engines", "cpu", "--api-key", USER, "--admin-key", ADMIN, "--repository-control", "true",
                "--grpc-port", "0", "--grpc-port-file", grpc_port_file) as server:
        http_keys(server)
        http_admin(server)
        grpc_port = int(open(grpc_port_file).read())
        grpc_keys(grpc_port)
        if not server.alive():
            fail("server died")
    csrf_and_repository_control()
    closed_observability()
    if failures:
        fail("%d access-control checks failed: %s" % (len(failures), failures))
    print("all access-control checks passed")


if __name__ == "__main__":
    main()
