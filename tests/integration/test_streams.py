"""Watched video streams (issue 13, docs/streams.md) with real components: a clip made here with the ffmpeg
CLI (a person cut from a test image sliding over a plain background: the planted box is known), served over
RTSP by a GStreamer RTSP server (rtsp_server.py) on a free port, and `accel serve --streams` on the cpu
engine. Checks: the stream runs; SSE delivers start/update events for label person with boxes near the
planted one and one track id across frames while the object moves; snapshot.jpg is a JPEG; the URL's
password never shows in answers or logs; the RTSP server stopped -> reconnecting and an end event for the
track (nothing can be seen), restarted -> running and
events resume; an unreachable URL, a non-video URL (HTTP text) and a truncated file -> clear state and
reason while /ai/infer keeps answering; API validation and admin-only changes; a stream added through
the API is there after a restart (the streams file)."""
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from accel_testlib import IMAGES, Server, fail, multipart

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN = {"Authorization": "Bearer admin-key-for-tests"}
# The planted person: a 110x200 crop at y=60, x = 20 + 15 px/s, in 480x300 frames at 10 fps.
PLANTED_Y = (60, 260)
PLANTED_W = 110
problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
        print("FAIL:", msg, flush=True)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_clip(path, seconds):
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "color=c=0x607080:s=480x300:r=10:d=%d" % seconds, "-i", os.path.join(IMAGES, "000000000872.jpg"),
         "-filter_complex",
         "[1:v]crop=266:484:146:130,scale=110:200[p];[0:v][p]overlay=x='20+t*15':y=60,format=yuv420p",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-r", "10", "-t", str(seconds), path],
        check=True)


class Rtsp:
    def __init__(self, clip, port):
        self.clip, self.port, self.proc = clip, port, None

    def start(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "rtsp_server.py"), self.clip,
                                      str(self.port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            fail("the RTSP server did not start: %r" % line)

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Sse:
    """Reads /ai/streams/NAME/events on a thread; events: list of (type, data dict, arrival time)."""

    def __init__(self, port, name):
        self.events = []
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/ai/streams/%s/events" % name)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.content_type = self.resp.getheader("Content-Type", "")
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        kind = None
        try:
            while True:
                line = self.resp.fp.readline()
                if not line:
                    return
                line = line.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind:
                    self.events.append((kind, json.loads(line[6:]), time.time()))
                    kind = None
        except Exception:
            return

    def close(self):
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except Exception:
            pass
        self.conn.close()


def wait_for(what, predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    check(False, "timed out after %.0f s waiting for %s" % (timeout, what))
    return None


def stream(server, name):
    status, body = server.json("GET", "/ai/streams/" + name)
    return body.get("stream") if status == 200 else None


def state_is(server, name, *states):
    s = stream(server, name)
    return s if s and s["state"] in states else None


def infer_ok(server):
    with open(os.path.join(IMAGES, "000000000139.jpg"), "rb") as f:
        body, ctype = multipart({}, {"image": ("a.jpg", f.read(), "image/jpeg")})
    status, _, _ = server.request("POST", "/ai/infer", body, {"Content-Type": ctype})
    return status == 200


def main():
    tmp = tempfile.TemporaryDirectory()
    clip = os.path.join(tmp.name, "planted.mp4")
    make_clip(clip, 30)
    rtsp = Rtsp(clip, free_port())
    rtsp.start()
    streams_file = os.path.join(tmp.name, "streams.yaml")
    with open(streams_file, "w") as f:
        f.write("streams:\n  - name: cam\n    url: rtsp://viewer:s3cret-pw@127.0.0.1:%d/clip\n    fps: 5\n"
                "    engine: cpu\n    tracker: {min_hits: 2, update_interval_s: 0.4}\n" % rtsp.port)
    args = ("--engines", "cpu", "--streams", streams_file, "--admin-key", "admin-key-for-tests")
    try:
        with Server(*args) as server:
            running = wait_for("cam running", lambda: state_is(server, "cam", "running"), 30)
            check(running and "s3cret" not in json.dumps(running) and "viewer:***@" in running["url"],
                  "the URL is answered redacted: %s" % (running or {}).get("url"))
            sse = Sse(server.port, "cam")
            check(sse.status == 200 and sse.content_type.startswith("text/event-stream"),
                  "events: %s %s" % (sse.status, sse.content_type))
            wait_for("start and 3 updates over SSE", lambda: len([e for e in sse.events if e[0] in ("start", "update")]) >= 4, 25)
            tracked = [e[1] for e in sse.events if e[0] in ("start", "update") and e[1]["label"] == "person"]
            check(tracked, "person events over SSE: %s" % sse.events[:3])
            for e in tracked:
                b = e["box"]
                check(abs(b["y_min"] - PLANTED_Y[0]) < 25 and abs(b["y_max"] - PLANTED_Y[1]) < 25 and
                      abs((b["x_max"] - b["x_min"]) - PLANTED_W) < 35,
                      "box near the planted person (y %s, width ~%d): %s" % (PLANTED_Y, PLANTED_W, b))
            ids = {e["track_id"] for e in tracked}
            moved = [e["box"]["x_min"] for e in tracked if e["track_id"] == tracked[0]["track_id"]]
            check(len(ids) == 1, "one track id for the one moving person: %s" % ids)
            check(len(moved) >= 3 and moved[-1] - moved[0] > 5,
                  "the track follows the object as it moves: x_min %s" % moved)
            status, headers, jpeg = server.request("GET", "/ai/streams/cam/snapshot.jpg")
            check(status == 200 and headers.get("content-type") == "image/jpeg" and jpeg[:3] == b"\xff\xd8\xff",
                  "snapshot.jpg: %s %s" % (status, headers.get("content-type")))
            status, _, text = server.request("GET", "/metrics")
            check(b'accel_stream_frames_decoded_total{stream="cam"}' in text and
                  b'accel_stream_state{stream="cam",state="running"} 1' in text, "per-stream metrics")

            # The camera goes away, then comes back.
            rtsp.stop()
            down = wait_for("cam reconnecting", lambda: state_is(server, "cam", "reconnecting"), 15)
            check(down and down["reason"], "reconnecting with a reason: %s" % (down or {}).get("reason"))
            # Nothing can be seen while the camera is away: the person's track ends over SSE.
            wait_for("an end event over SSE", lambda: [e for e in sse.events if e[0] == "end"], 15)
            ends = [e[1] for e in sse.events if e[0] == "end"]
            check(ends and ends[0]["label"] == "person" and ends[0]["track_id"] == tracked[0]["track_id"],
                  "end event for the person's track: %s" % ends[:1])
            before = len(sse.events)
            rtsp.start()
            wait_for("cam running again", lambda: state_is(server, "cam", "running"), 25)
            wait_for("events after the reconnect", lambda: len(sse.events) > before + 1, 20)
            sse.close()

            # Sources that cannot work: clear state and reason; the service keeps answering.
            http_port = free_port()
            text_dir = os.path.join(tmp.name, "www")
            os.mkdir(text_dir)
            with open(os.path.join(text_dir, "hello.txt"), "w") as f:
                f.write("this is not a video\n" * 50)
            class Quiet(http.server.SimpleHTTPRequestHandler):
                def log_message(self, *args):
                    pass

            handler = lambda *a: Quiet(*a, directory=text_dir)  # noqa: E731
            web = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), handler)
            threading.Thread(target=web.serve_forever, daemon=True).start()
            truncated = os.path.join(tmp.name, "truncated.mp4")
            with open(clip, "rb") as src, open(truncated, "wb") as dst:
                dst.write(src.read()[: os.path.getsize(clip) // 3])
            bad = {"unreachable": "rtsp://127.0.0.1:%d/nothing" % free_port(),
                   "textpage": "http://127.0.0.1:%d/hello.txt" % http_port,
                   "truncated": truncated}
            for name, url in bad.items():
                status, body = server.json("POST", "/ai/streams", {"name": name, "url": url, "engine": "cpu"}, ADMIN)
                check(status == 201, "POST %s: %s %s" % (name, status, body))
            unreachable = wait_for("unreachable reconnecting",
                                   lambda: state_is(server, "unreachable", "reconnecting"), 15)
            check(unreachable and "refused" in unreachable["reason"].lower(),
                  "unreachable: %s" % (unreachable or {}).get("reason"))
            for name in ("textpage", "truncated"):
                failed = wait_for(name + " failed", lambda: state_is(server, name, "failed"), 20)
                check(failed and failed["reason"], "%s: %s" % (name, (failed or {}).get("reason")))
            check(infer_ok(server), "/ai/infer answers while bad streams retry")
            web.shutdown()

            # Validation and access.
            status, body = server.json("POST", "/ai/streams", {"name": "x", "url": "rtsp://h/s"})
            check(status == 401, "POST without the admin key: %s" % status)
            cases = [({"name": "Bad Name", "url": "rtsp://h/s"}, "'name'"),
                     ({"name": "a", "url": "gopher://h/s"}, "'url'"),
                     ({"name": "a", "url": "rtsp://h/s", "fps": 100}, "'fps'"),
                     ({"name": "a", "url": "rtsp://h/s", "model": "no-such-model"}, "model"),
                     ({"name": "a", "url": "rtsp://h/s", "zones": [{"name": "z", "points": [[0, 0], [1, 1]]}]},
                      "3 points"),
                     ({"name": "a", "url": "rtsp://h/s", "outputs": {"mqtt": True}}, "mqtt")]
            for payload, expected in cases:
                status, body = server.json("POST", "/ai/streams", payload, ADMIN)
                check(status == 400 and expected in body.get("error", ""), "%s -> %s %s" % (payload, status, body))
            status, body = server.json("POST", "/ai/streams", {"name": "cam", "url": "rtsp://h/s"}, ADMIN)
            check(status == 409, "duplicate name: %s %s" % (status, body))
            status, _, data = server.request("POST", "/ai/streams", b"{not json", dict(ADMIN, **{"Content-Type": "application/json"}))
            check(status == 400, "malformed JSON: %s" % status)
            check(server.json("GET", "/ai/streams/nope")[0] == 404, "unknown stream 404")
            check(server.json("GET", "/ai/streams/nope/snapshot.jpg")[0] == 404, "unknown snapshot 404")
            for name in bad:
                check(server.json("DELETE", "/ai/streams/" + name, None, ADMIN)[0] == 200, "DELETE " + name)
            # Persistence: added through the API, there after a restart.
            status, body = server.json("POST", "/ai/streams", {"name": "saved", "url": clip, "loop": True, "fps": 1,
                                                               "engine": "cpu"}, ADMIN)
            check(status == 201, "POST saved: %s %s" % (status, body))
            check("s3cret" not in server.log_text(), "no password in the log")
        with open(streams_file) as f:
            saved_text = f.read()
        check("saved" in saved_text and "s3cret-pw" in saved_text and "unreachable" not in saved_text,
              "the streams file holds the API's changes:\n" + saved_text)
        check(oct(os.stat(streams_file).st_mode & 0o777) == "0o600", "streams file mode 0600")
        with Server(*args) as server:
            names = sorted(s["name"] for s in server.json("GET", "/ai/streams")[1]["streams"])
            check(names == ["cam", "saved"], "streams after a restart: %s" % names)
    finally:
        rtsp.stop()
        tmp.cleanup()
    if problems:
        fail("%d problem(s): %s" % (len(problems), problems[0]))
    print("OK: streams over RTSP, SSE, snapshot, reconnect, bad sources, validation, persistence", flush=True)


if __name__ == "__main__":
    main()
