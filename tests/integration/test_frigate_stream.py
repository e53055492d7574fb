"""Several Frigate servers on several Accel instances through a TCP stream proxy, as docs/frigate.md documents:
real nginx with `stream {}` and `hash $remote_addr consistent` in front of two instances' zmq detectors
(SIMULATED devices). A REQ client speaking Frigate's zmq protocol (handshake, then [header, tensor]) gets
its 480-byte answers through the proxy; when the instance it landed on is stopped, the client does what
Frigate does after a timeout (a new socket, a new handshake) and is answered by the other instance."""
import json
import os
import signal
import sys

import numpy as np
import zmq

sys.path.insert(0, os.path.dirname(__file__))
from accel_testlib import fail  # noqa: E402
from nginx_testlib import Instance, Nginx, free_port  # noqa: E402

TIMEOUT_MS = 200  # Frigate's zmq timeout
ARGS = ["--engines", "sim", "--sim-device", "name=z,kind=sim,ms=2", "--drain-timeout-s", "2"]

# What docs/frigate.md tells users to put into nginx's stream {} block, with test ports.
STREAM_CONF = """
    upstream accel_zmq {
        hash $remote_addr consistent;
        server 127.0.0.1:%d;
        server 127.0.0.1:%d;
    }
    server {
        listen 127.0.0.1:%d;
        proxy_pass accel_zmq;
        proxy_connect_timeout 1s;
        proxy_timeout 10m;
    }
"""


class FrigateLikeClient:
    """A REQ socket used as Frigate's zmq detector uses it (own code): 200 ms timeouts, linger 0,
    handshake first, a fresh socket after any timeout."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.ctx = zmq.Context.instance()
        self.sock = None

    def connect(self):
        if self.sock is not None:
            self.sock.close(linger=0)
        self.sock = self.ctx.socket(zmq.REQ)
        self.sock.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
        self.sock.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.endpoint)

    def handshake(self):
        self.sock.send_multipart([json.dumps({"model_request": True, "model_name": "yolox_nano.onnx"}).encode()])
        self.sock.setsockopt(zmq.RCVTIMEO, 5000)
        try:
            return json.loads(self.sock.recv_multipart()[0])
        finally:
            self.sock.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)

    def detect(self):
        tensor = np.zeros((1, 320, 320, 3), np.uint8)
        header = json.dumps({"shape": list(tensor.shape), "dtype": "uint8", "model_type": "yolox"}).encode()
        self.sock.send_multipart([header, tensor.tobytes()])
        return self.sock.recv_multipart()

    def session(self, attempts=50):
        """Connects and shakes hands, retrying like Frigate; returns the handshake answer."""
        last = None
        for _ in range(attempts):
            self.connect()
            try:
                return self.handshake()
            except zmq.Again as e:
                last = e
        fail("no handshake answer through the proxy after %d attempts: %r" % (attempts, last))

    def close(self):
        if self.sock is not None:
            self.sock.close(linger=0)


def completed(instance):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", instance.http_port, timeout=10)
    conn.request("GET", "/ai/engines")
    engines = json.loads(conn.getresponse().read())["engines"]
    conn.close()
    return sum(d.get("completed", 0) for e in engines for d in e.get("devices", []))


def answers(client, n):
    ok = 0
    for _ in range(n):
        try:
            frames = client.detect()
        except zmq.Again:
            client.session()
            continue
        if len(frames) == 1 and len(frames[0]) == 20 * 6 * 4:
            ok += 1
    return ok


def main():
    instances = [Instance("zmq-%d" % i, ARGS, zmq=True) for i in range(2)]
    client = None
    try:
        for inst in instances:
            inst.start()
        port = free_port()
        conf = STREAM_CONF % (instances[0].zmq_port, instances[1].zmq_port, port)
        with Nginx(stream_conf=conf, watch_ports=(port,)):
            client = FrigateLikeClient("tcp://127.0.0.1:%d" % port)
            hello = client.session()
            if not hello.get("model_available"):
                fail("handshake through the proxy: %s" % hello)
            got = answers(client, 20)
            counts = [completed(i) for i in instances]
            print("first instance set: %d/20 answers of 480 bytes; completed per instance %s" % (got, counts))
            if got < 19:
                fail("only %d of 20 requests answered through the stream proxy" % got)
            served = [i for i, c in enumerate(counts) if c > 0]
            if len(served) != 1:
                fail("one Frigate connection should stay on one instance (hash $remote_addr): %s" % counts)
            chosen = served[0]
            other = 1 - chosen
            instances[chosen].signal(signal.SIGTERM)
            if instances[chosen].wait(20) != 0:
                fail("instance %d did not exit 0 after SIGTERM" % chosen)
            before = completed(instances[other])
            # Frigate's way after the instance went away: the next request times out, then a new socket.
            try:
                client.detect()
            except zmq.Again:
                pass
            hello = client.session()
            got = answers(client, 20)
            after = completed(instances[other])
            print("after stopping instance %d: %d/20 answers, instance %d completed %d more" %
                  (chosen, got, other, after - before))
            if not hello.get("model_available") or got < 19 or after - before < got:
                fail("the other instance did not take over through the proxy")
    finally:
        if client is not None:
            client.close()
        for inst in instances:
            inst.stop()
    print("OK")


main()
