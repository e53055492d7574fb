"""The event outputs of a watched stream end to end (issue 13, docs/streams.md), with real components started
here on free ports: the test clip (test_streams.py) over RTSP from a GStreamer server, a mosquitto broker
read by a paho-mqtt subscriber, and a redis-server read over a plain RESP socket; `accel serve` on the cpu
engine publishes to both. Checks: start events with label person and a box near the planted one arrive on
accel/<stream>/events and in the Redis stream (the same track); the count topic; well-formed Home Assistant
discovery configs, for the labels seen only (the stream has no targets); the broker stopped mid-run -> the
service keeps serving, /ai/streams shows the MQTT output disconnected with events buffered, Redis keeps
receiving; the broker restarted -> what was buffered is published (acknowledged) and new events arrive; the
camera stopped -> end events for the track on both outputs and the count back to 0."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import paho.mqtt.client as mqtt

from accel_testlib import Server, fail
from test_streams import PLANTED_W, PLANTED_Y, Rtsp, check, free_port, infer_ok, make_clip, problems, wait_for


class Broker:
    """mosquitto on 127.0.0.1:port, no persistence; start() again after stop() reuses the port."""

    def __init__(self, port, directory):
        self.port, self.proc = port, None
        self.conf = os.path.join(directory, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % port)

    def start(self):
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(binary):
            fail("mosquitto is not installed (scripts/setup --test)")
        self.proc = subprocess.Popen([binary, "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        fail("mosquitto did not listen within 15 s")

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Redis:
    def __init__(self, port, directory):
        self.port, self.dir, self.proc = port, directory, None

    def start(self):
        binary = shutil.which("redis-server") or fail("redis-server is not installed (scripts/setup --test)")
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        if not wait_for("redis-server", lambda: self.command("PING") == "PONG", 15):
            fail("redis-server did not answer PING")

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()

    def command(self, *args):
        """One command over RESP; None when Redis cannot be asked."""
        request = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(request)
                return read_resp(s.makefile("rb"))
        except OSError:
            return None

    def entries(self, key):
        """XRANGE key - +: [(id, {field: value})] with text fields."""
        out = []
        for entry_id, fields in self.command("XRANGE", key, "-", "+") or []:
            values = [f.decode() for f in fields]
            out.append((entry_id.decode(), dict(zip(values[::2], values[1::2]))))
        return out


def read_resp(f):
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise OSError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [read_resp(f) for _ in range(n)]
    raise OSError("unexpected RESP answer %r" % line)


class Subscriber:
    """paho-mqtt client on accel/# and homeassistant/#; messages: (topic, payload bytes, retain, arrival)."""

    def __init__(self, port, client_id):
        self.messages, self.lock = [], threading.Lock()
        self.client = mqtt.Client(client_id=client_id, clean_session=True)
        self.client.on_connect = lambda c, u, f, rc: c.subscribe([("accel/#", 1), ("homeassistant/#", 1)])
        self.client.on_message = self.on_message
        self.client.reconnect_delay_set(1, 1)  # comes back quickly after the broker's restart
        self.client.connect_async("127.0.0.1", port, 30)
        self.client.loop_start()

    def on_message(self, client, userdata, m):
        with self.lock:
            self.messages.append((m.topic, m.payload, bool(m.retain), time.time()))

    def on(self, topic):
        with self.lock:
            return [m for m in self.messages if m[0] == topic]

    def topics(self, prefix):
        with self.lock:
            return {m[0] for m in self.messages if m[0].startswith(prefix)}

    def events(self, after=0):
        return [json.loads(m[1]) for m in self.on("accel/cam/events") if m[3] > after]

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def near_planted(box):
    return (abs(box["y_min"] - PLANTED_Y[0]) < 25 and abs(box["y_max"] - PLANTED_Y[1]) < 25 and
            abs((box["x_max"] - box["x_min"]) - PLANTED_W) < 35)


def mqtt_output(server):
    status, body = server.json("GET", "/ai/streams")
    return body.get("outputs", {}).get("mqtt") if status == 200 else None


def main():
    started = time.time()
    tmp = tempfile.TemporaryDirectory()
    clip = os.path.join(tmp.name, "planted.mp4")
    make_clip(clip, 30)
    rtsp = Rtsp(clip, free_port())
    broker = Broker(free_port(), tmp.name)
    redis = Redis(free_port(), tmp.name)
    sub = None
    streams_file = os.path.join(tmp.name, "streams.yaml")
    with open(streams_file, "w") as f:
        f.write("streams:\n  - name: cam\n    url: rtsp://127.0.0.1:%d/clip\n    fps: 5\n    engine: cpu\n"
                "    tracker: {min_hits: 2, update_interval_s: 0.5}\n    outputs: {mqtt: true, redis: true}\n"
                % rtsp.port)
    try:
        rtsp.start()
        broker.start()
        redis.start()
        sub = Subscriber(broker.port, "test-live")
        args = ("--engines", "cpu", "--streams", streams_file, "--mqtt-url", "mqtt://127.0.0.1:%d" % broker.port,
                "--events-redis-url", "redis://127.0.0.1:%d" % redis.port)
        with Server(*args) as server:
            # Start events over MQTT and in the Redis stream: the planted person, one track.
            wait_for("a start event over MQTT", lambda: [e for e in sub.events() if e["type"] == "start"], 30)
            starts = [e for e in sub.events() if e["type"] == "start"]
            check(starts and starts[0]["stream"] == "cam" and starts[0]["label"] == "person" and
                  near_planted(starts[0]["box"]), "MQTT start event: %s" % starts[:1])
            wait_for("a start entry in Redis",
                     lambda: [e for e in redis.entries("accel:events:cam") if e[1].get("type") == "start"], 15)
            redis_starts = [f for _, f in redis.entries("accel:events:cam") if f.get("type") == "start"]
            if check(redis_starts, "Redis start entries"):
                entry = redis_starts[0]
                event = json.loads(entry["json"])
                check(entry["label"] == "person" and event["label"] == "person" and near_planted(event["box"]),
                      "Redis start entry: %s" % entry)
                check(starts and int(entry["track_id"]) == starts[0]["track_id"] == event["track_id"],
                      "the same track on both outputs: %s vs %s" % (entry.get("track_id"), starts[:1]))

            # Counts and Home Assistant discovery: configs for the labels seen, well formed.
            wait_for("person count 1", lambda: b"1" in [m[1] for m in sub.on("accel/cam/person/count")], 10)
            wait_for("discovery of person",
                     lambda: sub.on("homeassistant/binary_sensor/accel_cam_person/config"), 10)
            binary = json.loads(sub.on("homeassistant/binary_sensor/accel_cam_person/config")[-1][1])
            check(binary.get("state_topic") == "accel/cam/person/count" and
                  binary.get("device_class") == "occupancy" and binary.get("availability_topic") == "accel/status"
                  and binary.get("unique_id") == "accel_cam_person" and
                  binary.get("device", {}).get("identifiers") == ["accel_cam"] and
                  "value_template" in binary, "binary_sensor config: %s" % binary)
            sensor = sub.on("homeassistant/sensor/accel_cam_person_count/config")
            check(sensor and json.loads(sensor[-1][1]).get("state_topic") == "accel/cam/person/count",
                  "count sensor config: %s" % sensor[-1:])
            camera = sub.on("homeassistant/camera/accel_cam/config")
            check(camera and json.loads(camera[-1][1]).get("topic") == "accel/cam/snapshot",
                  "camera config: %s" % camera[-1:])
            counted = {t.split("/")[2] for t in sub.topics("accel/cam/") if t.endswith("/count")}
            announced = {t.split("/")[2][len("accel_cam_"):]
                         for t in sub.topics("homeassistant/binary_sensor/accel_cam_")}
            check(announced and announced <= counted,
                  "binary sensors only for labels counted: %s, counted %s" % (sorted(announced), sorted(counted)))
            snapshot = sub.on("accel/cam/snapshot")
            check(snapshot and snapshot[-1][1][:3] == b"\xff\xd8\xff", "JPEG snapshot over MQTT")
            late = Subscriber(broker.port, "test-late")
            wait_for("the retained count", lambda: late.on("accel/cam/person/count"), 10)
            retained = late.on("accel/cam/person/count")
            check(retained and retained[0][2] and retained[0][1] == b"1", "retained count: %s" % retained[:1])
            late.close()

            # The broker goes away: the service keeps serving and buffering; Redis keeps receiving.
            broker.stop()
            redis_before = len(redis.entries("accel:events:cam"))
            down = wait_for("the MQTT output disconnected with events buffered",
                            lambda: (lambda o: o if o and not o["connected"] and o["buffered"] > 0 else None)(
                                mqtt_output(server)), 15)
            check(down and down["last_error"] and "dropped" in down, "MQTT output while away: %s" % down)
            check(infer_ok(server), "/ai/infer answers while the broker is away")
            status, body = server.json("GET", "/ai/streams/cam")
            check(status == 200 and body["stream"]["state"] == "running", "the stream runs on: %s" % status)
            wait_for("Redis entries while the broker is away",
                     lambda: len(redis.entries("accel:events:cam")) > redis_before, 10)

            # Back: what was buffered and new events arrive.
            broker.start()
            restarted = time.time()
            wait_for("the MQTT output connected again",
                     lambda: (lambda o: o if o and o["connected"] else None)(mqtt_output(server)), 20)
            wait_for("events made after the restart",
                     lambda: [e for e in sub.events(restarted) if e["timestamp"] > restarted], 20)
            # What waited was handed over and acknowledged by the broker (QoS 1); the test's own subscriber
            # may come back after that, so the sink's counters tell it, not the subscriber.
            wait_for("the buffered messages published",
                     lambda: (mqtt_output(server) or {}).get("published", 0) >= (down or {}).get("published", 0) + (down or {}).get("buffered", 1),
                     20)
            after = mqtt_output(server) or {}
            check(after.get("dropped") == 0, "nothing dropped under the buffer bound: %s" % after)

            # The camera goes away: the person can no longer be seen, so its track ends (after the
            # tracker's max_age_s, 2 s) on both outputs and the count falls to 0.
            rtsp.stop()
            lost = time.time()
            wait_for("an end event over MQTT", lambda: [e for e in sub.events(lost) if e["type"] == "end"], 20)
            ends = [e for e in sub.events(lost) if e["type"] == "end"]
            check(ends and ends[0]["label"] == "person" and ends[0]["stream"] == "cam" and
                  near_planted(ends[0]["box"]), "MQTT end event: %s" % ends[:1])
            wait_for("an end entry in Redis",
                     lambda: [e for e in redis.entries("accel:events:cam") if e[1].get("type") == "end"], 15)
            redis_ends = [f for _, f in redis.entries("accel:events:cam") if f.get("type") == "end"]
            check(redis_ends and redis_ends[-1]["label"] == "person" and ends and
                  int(redis_ends[-1]["track_id"]) == ends[-1]["track_id"], "Redis end entry: %s" % redis_ends[-1:])
            wait_for("person count 0", lambda: (sub.on("accel/cam/person/count") or [(0, b"")])[-1][1] == b"0", 10)
            check(server.alive(), "the service is alive")
    finally:
        if sub:
            sub.close()
        rtsp.stop()
        broker.stop()
        redis.stop()
        tmp.cleanup()
    if problems:
        fail("%d problem(s): %s" % (len(problems), problems[0]))
    print("OK: MQTT, Home Assistant discovery and Redis Streams outputs, broker away and back (%.0f s)"
          % (time.time() - started), flush=True)


if __name__ == "__main__":
    main()
