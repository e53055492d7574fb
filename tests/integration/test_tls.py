"""TLS on the real server (`accel serve --tls-cert/--tls-key[/--tls-client-ca]`), with a CA and certificates
this test makes with the `openssl` command: HTTPS (/ai/health, /ai/infer, KServe v2 infer as tritonclient
sends it), gRPC over TLS (ServerReady, ModelInfer) through Debian's python3-grpcio with messages generated
from proto/grpc_service.proto by `protoc`, plaintext refused on the TLS ports while the server keeps
serving, client certificates required with a client CA, bad files refused at start, and `accel bench`
over https:// and --grpc-tls."""
import base64
import http.client
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from accel_testlib import IMAGES, Server, fail  # noqa: E402

import grpc  # noqa: E402  (Debian's python3-grpcio)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGE = os.path.join(IMAGES, "000000000139.jpg")
JPEG = open(IMAGE, "rb").read()
failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, flush=True)
    if not cond:
        failures.append(msg)


def run(*args, cwd):
    result = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        fail("%s failed: %s" % (" ".join(args), result.stderr[-2000:]))


def make_pki(d):
    """CA, server certificate (SAN 127.0.0.1, localhost) and client certificate, all with the openssl CLI."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Accel test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for name, usage, extra in (("server", "serverAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"),
                               ("client", "clientAuth", "")):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=%s\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n%s"
                    % (usage, extra))
        run("openssl", "req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name, cwd=d)
        run("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext", cwd=d)
    return {k: os.path.join(d, k) for k in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}


def load_messages(d):
    """The KServe messages, generated into `d` from the checkout's .proto (no stubs are checked in)."""
    protoc = os.environ.get("ACCEL_PROTOC") or shutil.which("protoc") or fail("protoc not found")
    run(protoc, "--proto_path=" + os.path.join(ROOT, "proto"), "--python_out=" + d, "grpc_service.proto", cwd=d)
    sys.path.insert(0, d)
    import grpc_service_pb2  # noqa: E402
    return grpc_service_pb2


def https(port, pki, method, path, body=None, headers=None, client_cert=False):
    context = ssl.create_default_context(cafile=pki["ca.pem"])
    if client_cert:
        context.load_cert_chain(pki["client.pem"], pki["client.key"])
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def refused(call):
    """True when `call` raises a connection or TLS error (no answer came back)."""
    try:
        call()
    except (ssl.SSLError, ConnectionError, http.client.HTTPException, OSError):
        return True
    return False


class Grpc:
    def __init__(self, pb, port, pki=None, client_cert=False):
        target = "127.0.0.1:%d" % port
        if pki is None:
            self.channel = grpc.insecure_channel(target)
        else:
            read = lambda k: open(pki[k], "rb").read()  # noqa: E731
            creds = grpc.ssl_channel_credentials(
                root_certificates=read("ca.pem"),
                private_key=read("client.key") if client_cert else None,
                certificate_chain=read("client.pem") if client_cert else None)
            self.channel = grpc.secure_channel(target, creds)
        self.pb = pb

    def call(self, method, request, response_type):
        rpc = self.channel.unary_unary("/inference.GRPCInferenceService/" + method,
                                       request_serializer=type(request).SerializeToString,
                                       response_deserializer=response_type.FromString)
        return rpc(request, timeout=30)

    def ready(self):
        return self.call("ServerReady", self.pb.ServerReadyRequest(), self.pb.ServerReadyResponse).ready

    def detect_count(self, jpeg):
        request = self.pb.ModelInferRequest(model_name="yolox-nano-detect")
        tensor = request.inputs.add()
        tensor.name, tensor.datatype = "image", "BYTES"
        tensor.shape.append(1)
        request.raw_input_contents.append(struct.pack("<I", len(jpeg)) + jpeg)
        response = self.call("ModelInfer", request, self.pb.ModelInferResponse)
        names = [o.name for o in response.outputs]
        return struct.unpack("<i", response.raw_output_contents[names.index("count")])[0]

    def close(self):
        self.channel.close()


def plaintext_http(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/ai/health")
        return conn.getresponse().status
    finally:
        conn.close()


def bench(server_bin, *args):
    result = subprocess.run([server_bin, "bench", "--duration", "1", "--image", IMAGE, "--json", "--quiet"] + list(args),
                            capture_output=True, text=True, timeout=120)
    steps = json.loads(result.stdout) if result.stdout.strip().startswith("[") else []
    ok = sum(s.get("ok", 0) for s in steps)
    return result.returncode, ok, result.stdout[-400:] + result.stderr[-400:]


def health(server_bin, port, *args, env=None):
    """`accel health` against 127.0.0.1:port: (exit status, its output)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("TLS_CERT_FILE", "API_KEY", "PORT")}
    environment.update(env or {})
    result = subprocess.run([server_bin, "health", "--port", str(port), "--timeout-ms", "5000", *args],
                            capture_output=True, text=True, env=environment, timeout=30)
    return result.returncode, (result.stdout + result.stderr).strip()


def main():
    tmp = tempfile.TemporaryDirectory()
    pki = make_pki(tmp.name)
    pb = load_messages(tmp.name)
    tls_args = ["--engines", "cpu", "--tls-cert", pki["server.pem"], "--tls-key", pki["server.key"]]
    grpc_port_file = os.path.join(tmp.name, "grpc-port")

    with Server(*tls_args, "--grpc-port", "0", "--grpc-port-file", grpc_port_file) as srv:
        grpc_port = int(open(grpc_port_file).read())
        st, _, body = https(srv.port, pki, "GET", "/ai/health")
        check(st == 200 and json.loads(body).get("status"), "HTTPS GET /ai/health -> %d %s" % (st, body[:80]))

        st, _, body = https(srv.port, pki, "POST", "/ai/infer", JPEG, {"Content-Type": "image/jpeg"})
        detections = json.loads(body).get("detections", []) if st == 200 else []
        check(st == 200 and detections, "HTTPS POST /ai/infer -> %d, %d detections" % (st, len(detections)))
        payload = json.dumps({"image_base64": base64.b64encode(JPEG).decode()}).encode()
        st, _, body = https(srv.port, pki, "POST", "/ai/infer", payload, {"Content-Type": "application/json"})
        check(st == 200 and len(json.loads(body)["detections"]) == len(detections),
              "HTTPS POST /ai/infer with JSON image_base64 -> %d" % st)

        # KServe v2 as tritonclient sends it: JSON header + binary BYTES input on one keep-alive connection.
        element = struct.pack("<I", len(JPEG)) + JPEG
        header = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                         "parameters": {"binary_data_size": len(element)}}],
                             "outputs": [{"name": "count"}]}).encode()
        st, _, body = https(srv.port, pki, "POST", "/v2/models/yolox-nano-detect/infer", header + element,
                            {"Content-Type": "application/octet-stream",
                             "Inference-Header-Content-Length": str(len(header))})
        count = json.loads(body)["outputs"][0]["data"] if st == 200 else None
        check(count == [len(detections)], "HTTPS KServe v2 infer -> %d, count %s" % (st, count))

        client = Grpc(pb, grpc_port, pki)
        check(client.ready(), "gRPC over TLS: ServerReady")
        n = client.detect_count(JPEG)
        check(n == len(detections), "gRPC over TLS: ModelInfer count %d (HTTPS: %d)" % (n, len(detections)))
        client.close()

        # Plaintext on the TLS ports: no answer, and the server goes on serving TLS clients.
        check(refused(lambda: plaintext_http(srv.port)), "plaintext HTTP on the TLS port is refused")
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw:
            raw.sendall(b"GET /ai/health HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                data = raw.recv(4096)
            except ConnectionError:
                data = b""
            check(not data.startswith(b"HTTP/"), "a raw plaintext request gets no HTTP answer (%r)" % data[:40])
        plain = Grpc(pb, grpc_port)
        check(grpc_refused(plain.ready), "plaintext gRPC on the TLS port is refused")
        plain.close()
        check(srv.alive(), "server alive after plaintext clients")
        st, _, _ = https(srv.port, pki, "GET", "/ai/health")
        check(st == 200, "HTTPS still answers after plaintext clients -> %d" % st)
        client = Grpc(pb, grpc_port, pki)
        check(client.ready(), "gRPC over TLS still answers after a plaintext client")
        client.close()

        # The load generator over TLS: HTTPS and gRPC, trusting the test CA; plaintext gets no successes.
        accel = os.environ["ACCEL_BIN"]
        rc, ok, out = bench(accel, "--api", "ai", "--url", "https://127.0.0.1:%d" % srv.port, "--tls-ca", pki["ca.pem"])
        check(rc == 0 and ok > 0, "accel bench https:// -> exit %d, %d ok %s" % (rc, ok, "" if ok else out))
        rc, ok, out = bench(accel, "--api", "grpc", "--grpc-url", "127.0.0.1:%d" % grpc_port, "--grpc-tls",
                            "--tls-ca", pki["ca.pem"])
        check(rc == 0 and ok > 0, "accel bench --api grpc --grpc-tls -> exit %d, %d ok %s" % (rc, ok, "" if ok else out))
        rc, ok, out = bench(accel, "--api", "ai", "--url", "http://127.0.0.1:%d" % srv.port)
        check(rc != 0 and ok == 0, "accel bench http:// on the TLS port gets no answer (exit %d)" % rc)
        rc, ok, out = bench(accel, "--api", "ai", "--url", "https://127.0.0.1:%d" % srv.port)
        check(rc != 0 and ok == 0, "accel bench https:// without the test CA refuses the server (exit %d)" % rc)
        check(srv.alive(), "server alive after the bench runs")

        # `accel health` (the image's HEALTHCHECK) against a TLS server: pinned to the server's certificate.
        rc, out = health(accel, srv.port, "--tls-cert", pki["server.pem"])
        check(rc == 0, "accel health --tls-cert server.pem -> exit %d %s" % (rc, out))
        rc, out = health(accel, srv.port, env={"TLS_CERT_FILE": pki["server.pem"]})
        check(rc == 0, "accel health with TLS_CERT_FILE in the environment -> exit %d %s" % (rc, out))
        rc, out = health(accel, srv.port, "--tls-cert", pki["client.pem"])
        check(rc == 1 and "not the one" in out, "accel health pinned to another certificate fails -> %d %s" % (rc, out))
        rc, out = health(accel, srv.port)
        check(rc == 1, "accel health in plaintext against the TLS port fails -> exit %d" % rc)

    # Client certificates required.
    with Server(*tls_args, "--tls-client-ca", pki["ca.pem"], "--grpc-port", "0",
                "--grpc-port-file", grpc_port_file) as srv:
        grpc_port = int(open(grpc_port_file).read())
        check(refused(lambda: https(srv.port, pki, "GET", "/ai/health")), "mTLS: HTTPS without a client certificate is refused")
        st, _, _ = https(srv.port, pki, "GET", "/ai/health", client_cert=True)
        check(st == 200, "mTLS: HTTPS with the client certificate -> %d" % st)
        anonymous = Grpc(pb, grpc_port, pki)
        check(grpc_refused(anonymous.ready), "mTLS: gRPC without a client certificate is refused")
        anonymous.close()
        client = Grpc(pb, grpc_port, pki, client_cert=True)
        check(client.ready(), "mTLS: gRPC with the client certificate")
        client.close()
        rc, ok, out = bench(os.environ["ACCEL_BIN"], "--api", "ai", "--url", "https://127.0.0.1:%d" % srv.port,
                            "--tls-ca", pki["ca.pem"], "--tls-cert", pki["client.pem"], "--tls-key", pki["client.key"])
        check(rc == 0 and ok > 0, "mTLS: accel bench with --tls-cert -> exit %d, %d ok" % (rc, ok))
        rc, out = health(os.environ["ACCEL_BIN"], srv.port, "--tls-cert", pki["server.pem"])
        check(rc == 1, "mTLS: accel health without a client certificate fails -> exit %d" % rc)
        rc, out = health(os.environ["ACCEL_BIN"], srv.port, "--tls-cert", pki["server.pem"],
                         "--client-cert", pki["client.pem"], "--client-key", pki["client.key"])
        check(rc == 0, "mTLS: accel health with --client-cert -> exit %d %s" % (rc, out))

    # Bad TLS settings stop the server at start, naming the file or the missing flag.
    server_bin = os.environ["ACCEL_BIN"]
    base = [server_bin, "serve", "--host", "127.0.0.1", "--port", "0", "--grpc-port", "-1", "--zmq-endpoint", "",
            "--models", os.environ["ACCEL_MODELS"], "--engines", "cpu"]
    missing = os.path.join(tmp.name, "missing.pem")
    for args, named in ((["--tls-cert", missing, "--tls-key", pki["server.key"]], missing),
                        (["--tls-cert", pki["server.pem"], "--tls-key", pki["client.key"]], pki["client.key"]),
                        (["--tls-cert", pki["server.pem"]], "--tls-key"),
                        (["--tls-client-ca", pki["ca.pem"]], "--tls-cert")):
        result = subprocess.run(base + args, capture_output=True, text=True, timeout=120)
        out = result.stdout + result.stderr
        check(result.returncode != 0 and named in out,
              "serve %s -> exit %d, names %s" % (" ".join(os.path.basename(a) for a in args), result.returncode,
                                                 os.path.basename(named)))

    tmp.cleanup()
    if failures:
        fail("%d TLS check(s) failed: %s" % (len(failures), "; ".join(failures)))
    print("PASS", flush=True)


def grpc_refused(call):
    try:
        call()
    except grpc.RpcError as e:
        return e.code() == grpc.StatusCode.UNAVAILABLE
    return False


if __name__ == "__main__":
    main()
