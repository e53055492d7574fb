"""The result cache with a real redis-server (started here on a free port) and the cpu engine: a second
identical request is a hit and runs no inference; another threshold or class filter is answered from the
cache and filtered like an uncached answer; two instances share results through Redis; Redis killed under
load (or hung) costs no request and shows `degraded` in /ai/health (overall status unchanged); Redis back, Redis hits
resume by themselves; a REDIS_URL Accel cannot use (scheme, host, password) is logged and the service runs."""
import base64
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from accel_testlib import IMAGES, Server, fail, multipart

problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
        print("FAIL:", msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    """redis-server on 127.0.0.1:port, no persistence; start() again after kill() reuses the port."""

    def __init__(self, port):
        self.port = port
        self.proc = None
        self.dir = tempfile.mkdtemp()
        self.start_args = []

    def start(self):
        binary = shutil.which("redis-server") or fail("redis-server is not installed (scripts/setup --test)")
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.dir] + self.start_args,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    answer = s.recv(64)
                    if answer.startswith(b"+PONG") or answer.startswith(b"-NOAUTH"):  # up (maybe locked)
                        return
            except OSError:
                time.sleep(0.05)
        fail("redis-server did not answer PING within 15 s")

    def keys(self):
        """DBSIZE of database 0 (0 when Redis cannot be asked)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"*1\r\n$6\r\nDBSIZE\r\n")
                answer = s.recv(64)
            return int(answer[1:].split(b"\r\n")[0]) if answer.startswith(b":") else 0
        except (OSError, ValueError):
            return 0

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def image(name):
    with open(os.path.join(IMAGES, name), "rb") as f:
        return f.read()


def fresh_jpeg():
    """A small JPEG of random pixels, different every call: a memory-level miss, so its lookup goes to Redis."""
    from PIL import Image
    out = io.BytesIO()
    Image.frombytes("RGB", (64, 48), os.urandom(64 * 48 * 3)).save(out, "JPEG", quality=90)
    return out.getvalue()


def infer(server, data, headers=None, **fields):
    payload = dict(fields, image_base64=base64.b64encode(data).decode())
    status, h, body = server.request("POST", "/ai/infer", json.dumps(payload).encode(),
                                     dict({"Content-Type": "application/json"}, **(headers or {})))
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = {}
    return status, h.get("x-accel-cache"), parsed


def inferences(server):
    """accel_inferences_total over every device: the model runs this server has done."""
    _, _, body = server.request("GET", "/metrics")
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith("accel_inferences_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def metric(server, name):
    _, _, body = server.request("GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def health(server):
    return server.json("GET", "/ai/health")[1]


def wait_for(what, predicate, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    check(False, "timed out after %d s waiting for %s" % (timeout, what))
    return False


def boxes(result):
    return [(d["label"], d["confidence"], d["box"]["x_min"], d["box"]["y_min"], d["box"]["x_max"],
             d["box"]["y_max"]) for d in result.get("detections", [])]


def bad_redis_urls():
    """A REDIS_URL Accel cannot use: a clear log line at start, a running service answering requests, the
    cache degraded in /ai/health; a password-protected Redis: refused without the password, used with it."""
    sim = ["--engines", "sim", "--sim-device", "name=s,kind=sim,ms=1", "--cache", "true"]
    png = image("000000000139.jpg")
    locked = Redis(free_port())
    locked.start_args = ["--requirepass", "s3cret"]
    locked.start()
    try:
        cases = [("http://127.0.0.1:6379", "must look like redis://"),
                 ("redis://127.0.0.1:%d" % free_port(), "cannot connect"),
                 ("redis://127.0.0.1:%d/0" % locked.port, "requires a password"),
                 ("redis://:wrong@127.0.0.1:%d/0" % locked.port, "check the password")]
        for url, logged in cases:
            with Server(*sim, env={"REDIS_URL": url}) as s:
                wait_for("a log line saying %r for %s" % (logged, url), lambda: logged in s.log_text(), 10)
                st, header, _ = infer(s, png, engine="sim")
                check(st == 200 and header == "miss", "%s: request answered %d %s" % (url, st, header))
                h = health(s)
                check(h["cache"]["status"] == "degraded", "%s: cache %s" % (url, h["cache"]))
                check(s.alive(), "%s: the server died" % url)
        with Server(*sim, env={"REDIS_URL": "redis://:s3cret@127.0.0.1:%d/1" % locked.port}) as s:
            wait_for("the cache to log in", lambda: health(s)["cache"]["status"] == "ok", 10)
    finally:
        locked.stop()


def main():
    started = time.time()
    redis = Redis(free_port())
    redis.start()
    # A generous Redis lookup timeout: CI machines are loaded, and this test checks hits, not the timeout.
    args = ["--engines", "cpu", "--cache", "true", "--redis-url", "redis://127.0.0.1:%d/0" % redis.port,
            "--cache-lookup-timeout-ms", "250"]
    try:
        with Server(*args) as a, Server(*args) as b:
            for s in (a, b):
                wait_for("the cache to reach Redis", lambda: health(s).get("cache", {}).get("status") == "ok")
            overall = health(a)["status"]
            first = image("000000000139.jpg")

            st, header, miss = infer(a, first, threshold=0.3)
            check(st == 200, "first request: %d %s" % (st, miss))
            check(header == "miss" and miss.get("cached") is False, "first request: %s, cached %s" %
                  (header, miss.get("cached")))
            check(len(miss.get("detections", [])) >= 3, "the test image has several objects at 0.3")
            ran = inferences(a)
            check(ran >= 1, "the miss ran the model")

            st, header, hit = infer(a, first, threshold=0.3)
            check(st == 200 and header == "hit" and hit.get("cached") is True,
                  "identical request: %d %s cached %s" % (st, header, hit.get("cached")))
            check(boxes(hit) == boxes(miss), "a hit answers what the miss answered")
            check(inferences(a) == ran, "a hit ran the model (inferences %s -> %s)" % (ran, inferences(a)))

            # Another threshold and a class filter: hits, filtered like an uncached request.
            for fields in ({"threshold": 0.6}, {"threshold": 0.3, "targets": ["person"]}):
                st, header, cached = infer(a, first, **fields)
                check(st == 200 and header == "hit", "%s: %d %s" % (fields, st, header))
                st, header, fresh = infer(a, first, headers={"Cache-Control": "no-cache"}, **fields)
                check(st == 200 and header == "bypass" and fresh.get("cached") is False,
                      "%s with Cache-Control: no-cache: %d %s" % (fields, st, header))
                check(boxes(cached) == boxes(fresh), "%s: cached %s != uncached %s" %
                      (fields, boxes(cached), boxes(fresh)))
                check(all(d["confidence"] >= fields["threshold"] for d in cached["detections"]),
                      "%s: a detection under the threshold" % fields)
                if "targets" in fields:
                    check(cached["detections"] and all(d["label"] == "person" for d in cached["detections"]),
                          "targets person: %s" % boxes(cached))
            st, header, _ = infer(a, first, threshold=0.3, cache=False)
            check(st == 200 and header == "bypass", '"cache": false: %d %s' % (st, header))

            # DeepStack answers from the same cache, with the header.
            body, ctype = multipart({"min_confidence": "0.5"}, {"image": ("a.jpg", first, "image/jpeg")})
            st, h, data = a.request("POST", "/v1/vision/detection", body, {"Content-Type": ctype})
            check(st == 200 and h.get("x-accel-cache") == "hit", "deepstack: %d %s" % (st, h.get("x-accel-cache")))

            # The second instance has never seen the image: Redis has it (stores are asynchronous: wait for it).
            wait_for("a's result to reach Redis", lambda: redis.keys() >= 1)
            check(inferences(b) == 0, "instance b ran something before its first request")
            st, header, shared = infer(b, first, threshold=0.3)
            check(st == 200 and header == "hit" and boxes(shared) == boxes(miss),
                  "instance b, same image: %d %s" % (st, header))
            check(inferences(b) == 0, "instance b ran the model for a result Redis held")
            check(metric(b, 'accel_cache_hits_total{level="redis"}') >= 1, "b's redis hits are not counted")

            # Redis hung (SIGSTOP): a lookup waits at most its timeout, then counts as a miss and the model
            # runs; nothing waits on the hung connection.
            timeouts = metric(a, 'accel_cache_errors_total{kind="timeout"}')
            redis.proc.send_signal(signal.SIGSTOP)
            try:
                for name in sorted(n for n in os.listdir(IMAGES) if n.endswith(".jpg"))[1:3]:
                    t0 = time.time()
                    st, header, _ = infer(a, image(name), threshold=0.5)
                    took = time.time() - t0
                    check(st == 200 and header == "miss", "Redis hung, %s: %d %s" % (name, st, header))
                    check(took < 5, "Redis hung, %s took %.1f s" % (name, took))
                st, header, _ = infer(a, first, threshold=0.3)
                check(st == 200 and header == "hit", "Redis hung, a memory hit: %d %s" % (st, header))
                check(metric(a, 'accel_cache_errors_total{kind="timeout"}') > timeouts,
                      "lookups past their deadline are not counted as timeouts")
            finally:
                redis.proc.send_signal(signal.SIGCONT)
            # Back to a closed breaker before the next step: failed reconnections double the back-off, and the
            # next step should not start with one of several seconds.
            for s in (a, b):
                wait_for("the cache to recover from the hang", lambda: health(s)["cache"]["status"] == "ok", 40)
            print("%.1f s: recovered from the hang" % (time.time() - started), flush=True)

            # Redis killed under load: every request is still answered (misses run the model).
            statuses = []
            lock = threading.Lock()
            stop = threading.Event()
            names = sorted(n for n in os.listdir(IMAGES) if n.endswith(".jpg"))[:7]
            unseen = names.pop()  # for after the restart: in no level yet

            def client(server):
                # Known images (memory hits) alternate with new ones, whose lookups reach Redis whatever
                # the timing: Redis going away must be noticed, and cost no request either way.
                i = 0
                while not stop.is_set():
                    data = image(names[i % len(names)]) if i % 2 else fresh_jpeg()
                    st, _, _ = infer(server, data, threshold=0.5)
                    with lock:
                        statuses.append(st)
                    i += 1

            threads = [threading.Thread(target=client, args=(s,)) for s in (a, b)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            redis.kill()
            print("%.1f s: Redis killed" % (time.time() - started), flush=True)
            wait_for("/ai/health to show the cache degraded",
                     lambda: health(a).get("cache", {}).get("status") == "degraded")
            h = health(a)
            check(h["status"] == overall, "overall status changed with Redis down: %s -> %s" % (overall, h["status"]))
            check(h["cache"].get("redis", {}).get("state") == "degraded", "redis state: %s" % h["cache"])
            time.sleep(1.0)
            stop.set()
            for t in threads:
                t.join()
            bad = [s for s in statuses if s != 200]
            print("requests while Redis went away: %d, errors: %d" % (len(statuses), len(bad)), flush=True)
            check(len(statuses) > 0 and not bad, "client errors with Redis down: %s" % bad[:10])

            # Redis back (empty: it kept nothing): both instances reconnect by themselves, and a result one
            # computes is a Redis hit for the other again.
            redis.start()
            print("%.1f s: Redis restarted" % (time.time() - started), flush=True)
            for s in (a, b):
                wait_for("the cache to reconnect", lambda: health(s).get("cache", {}).get("status") == "ok", 40)
            print("%.1f s: both instances reconnected" % (time.time() - started), flush=True)
            fresh_image = image(unseen)
            st, header, _ = infer(a, fresh_image, threshold=0.45)
            check(st == 200 and header == "miss", "new image after the restart, a: %d %s" % (st, header))
            wait_for("a's new result to reach Redis", lambda: redis.keys() >= 1)
            before = metric(b, 'accel_cache_hits_total{level="redis"}')
            ran_b = inferences(b)
            st, header, _ = infer(b, fresh_image, threshold=0.45)
            check(st == 200 and header == "hit", "new image after the restart, b: %d %s" % (st, header))
            check(metric(b, 'accel_cache_hits_total{level="redis"}') == before + 1, "b's hit did not come from Redis")
            check(inferences(b) == ran_b, "b ran the model for a result Redis held")
            if problems:
                a.dump_log()
                b.dump_log()
    finally:
        redis.stop()
    bad_redis_urls()
    print("cache test took %.1f s" % (time.time() - started))
    if problems:
        fail("%d problem(s)" % len(problems))
    print("PASS")


main()
