"""Video streams benchmark (issue 13); run it through bench/streams_bench.sh, which documents the options.

Every inference runs on SIMULATED devices (the `sim` engine: a fixed inference time slept on the device's
thread, all-zero outputs, so no detections and no track events). What is measured is real: FFmpeg
decoding of real H.264 over RTSP from a GStreamer server, sampling, the RGB conversion and letterbox of each
sampled frame, the scheduler, tracking and publishing, and the accel process's CPU time and memory."""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    """utime + stime of a process in clock ticks (fields 14 and 15 of /proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def make_clip(path, images, source_fps, work):
    """A 1280x720 H.264 clip like a fixed camera's: a test image as the scene with temporal sensor noise and
    three objects cut from test images moving across it; 2 Mbit/s, a key frame every 2 s. A 20 s segment is
    encoded once and repeated (remuxed, timestamps continuous) to 12 minutes, longer than any run."""
    segment = os.path.join(work, "segment.mp4")
    img = lambda name: os.path.join(images, name)  # noqa: E731
    graph = ("[0:v]scale=1280:720,setsar=1,noise=alls=6:allf=t[bg];"
             "[1:v]crop=266:484:146:130,scale=180:328[p];[2:v]scale=220:240[b];[3:v]scale=150:200[s];"
             "[bg][p]overlay=x='mod(t*70,1460)-180':y=300[a];"
             "[a][b]overlay=x='1280-mod(t*50,1500)':y=420[c];"
             "[c][s]overlay=x='200+t*40':y='40+t*12',format=yuv420p")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-framerate", str(source_fps),
                    "-i", img("000000000632.jpg"), "-i", img("000000000872.jpg"), "-i", img("000000000285.jpg"),
                    "-i", img("000000000724.jpg"), "-filter_complex", graph, "-t", "20", "-r", str(source_fps),
                    "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-b:v", "2M",
                    "-maxrate", "2M", "-bufsize", "4M", "-g", str(2 * source_fps), segment], check=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "35", "-i", segment, "-c", "copy",
                    path], check=True)


class Service:
    """`accel serve --engines sim` on a free port, and the few HTTP calls the benchmark makes."""

    def __init__(self, accel, work, sim_ms, sim_devices):
        self.port_file = os.path.join(work, "port")
        self.log_path = os.path.join(work, "accel.log")
        args = [accel, "serve", "--host", "127.0.0.1", "--port", "0", "--port-file", self.port_file,
                "--grpc-port", "-1", "--zmq-endpoint", "", "--models", os.path.join(ROOT, "models"),
                "--engines", "sim", "--log-level", "warn"]
        for i in range(sim_devices):
            args += ["--sim-device", "name=sim%d,ms=%g" % (i, sim_ms)]
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not (os.path.exists(self.port_file) and open(self.port_file).read().strip()):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("accel serve did not start; see its log:\n" + open(self.log_path).read())
            time.sleep(0.1)
        self.url = "http://127.0.0.1:%s" % open(self.port_file).read().strip()

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def streams(self):
        status, body = self.call("GET", "/ai/streams")
        if status != 200:
            raise RuntimeError("GET /ai/streams: %s %s" % (status, body[:200]))
        return {s["name"]: s for s in json.loads(body)["streams"]}

    def metrics(self):
        """{(name, frozenset of label pairs): value} of the /metrics scrape."""
        status, body = self.call("GET", "/metrics")
        if status != 200:
            raise RuntimeError("GET /metrics: %s" % status)
        samples = {}
        for line in body.decode().splitlines():
            if not line or line.startswith("#"):
                continue
            head, value = line.rsplit(" ", 1)
            name, _, labels = head.partition("{")
            samples[(name, frozenset(LABEL_RE.findall(labels)))] = float(value)
        return samples

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()


class Snapshot:
    """Everything one measurement point needs: time, CPU ticks of accel and of the RTSP server, the
    metrics scrape and the streams' stats."""

    def __init__(self, service, rtsp_pid):
        self.time = time.monotonic()
        self.accel_ticks = cpu_ticks(service.proc.pid)
        self.rtsp_ticks = cpu_ticks(rtsp_pid)
        self.metrics = service.metrics()
        self.streams = service.streams()
        self.load = load_average()

    def value(self, name, stream, **labels):
        key = frozenset([("stream", stream)] + list(labels.items()))
        return self.metrics.get((name, key), 0.0)

    def buckets(self, name, stream):
        """[(upper bound, cumulative count)] of a per-stream histogram, sorted."""
        out = []
        for (metric, labels), value in self.metrics.items():
            labels = dict(labels)
            if metric == name + "_bucket" and labels.get("stream") == stream:
                out.append((float("inf") if labels["le"] == "+Inf" else float(labels["le"]), value))
        return sorted(out)


def histogram_quantile(q, a, b):
    """Prometheus-style quantile (linear within a bucket) of the observations between two cumulative
    bucket lists; None when there were none."""
    deltas = [(le, cb - ca) for (le, cb), (_, ca) in zip(b, a)]
    if not deltas or deltas[-1][1] <= 0:
        return None
    rank, lower, below = q * deltas[-1][1], 0.0, 0.0
    for le, cumulative in deltas:
        if cumulative >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * (rank - below) / max(cumulative - below, 1e-9)
        lower, below = le, cumulative
    return lower


def window(a, b, names, cores):
    """Per-stream figures between two snapshots, and the totals."""
    seconds = b.time - a.time
    rows = {}
    for name in names:
        d = lambda metric, **labels: b.value(metric, name, **labels) - a.value(metric, name, **labels)  # noqa
        hist_a = a.buckets("accel_stream_detection_latency_seconds", name)
        hist_b = b.buckets("accel_stream_detection_latency_seconds", name)
        stats = b.streams[name]["stats"]
        rows[name] = {
            "state": b.streams[name]["state"],
            "decoded_fps": d("accel_stream_frames_decoded_total") / seconds,
            "detection_fps": d("accel_stream_frames_detected_total") / seconds,
            "dropped_source": d("accel_stream_frames_dropped_total", reason="source"),
            "dropped_busy": d("accel_stream_frames_dropped_total", reason="busy"),
            "decode_errors": d("accel_stream_decode_errors_total"),
            "reconnects": d("accel_stream_reconnects_total"),
            "detection_errors": d("accel_stream_detection_errors_total"),
            # The stream's own exact percentiles of its last 256 detected frames (about 51 s at 5 fps).
            "p50_ms": stats.get("latency_p50_ms"),
            "p95_ms": stats.get("latency_p95_ms"),
            # The whole window from the histogram (buckets 10, 25, 50, 100, 250, 500 ms...: coarse).
            "hist_p50_ms": (histogram_quantile(0.5, hist_a, hist_b) or 0) * 1000,
            "hist_p95_ms": (histogram_quantile(0.95, hist_a, hist_b) or 0) * 1000,
            "hist_le_250ms": _share_below(hist_a, hist_b, 0.25),
        }
    accel_cpu = (b.accel_ticks - a.accel_ticks) / CLK_TCK / seconds
    return {
        "seconds": seconds,
        "streams": rows,
        "accel_cpu_cores": accel_cpu,
        "accel_cpu_per_stream": accel_cpu / max(len(names), 1),
        "rtsp_cpu_cores": (b.rtsp_ticks - a.rtsp_ticks) / CLK_TCK / seconds,
        "load_average": (a.load, b.load),
        "cores": cores,
    }


def _share_below(a, b, bound):
    deltas = {le: cb - ca for (le, cb), (_, ca) in zip(b, a)}
    total = deltas.get(float("inf"), 0)
    return deltas.get(bound, 0) / total if total else None


def stream_names(count):
    return ["cam%d" % i for i in range(count)]


def add_streams(service, rtsp_port, names, fps):
    for name in names:
        body = {"name": name, "url": "rtsp://127.0.0.1:%d/%s" % (rtsp_port, name), "fps": fps}
        status, answer = service.call("POST", "/ai/streams", body)
        if status != 201:
            raise RuntimeError("POST /ai/streams %s: %s %s" % (name, status, answer[:300]))


def wait_running(service, names, timeout):
    """Until every stream runs and has detected frames; raises after `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        streams = service.streams()
        ready = [n for n in names if streams[n]["state"] == "running" and streams[n]["stats"]["detected_frames"]]
        if len(ready) == len(names):
            return
        if time.time() > deadline:
            raise RuntimeError("streams not running after %d s: %s" % (
                timeout, {n: (streams[n]["state"], streams[n]["reason"]) for n in names if n not in ready}))
        time.sleep(0.5)


def fmt(value, digits=1):
    return "-" if value is None else ("%.*f" % (digits, value))


def print_window_table(title, w):
    print("\n%s (%.0f s; accel %.2f cores = %.1f%% of a core per stream; RTSP server %.2f cores; "
          "load average %.1f -> %.1f)\n" % (title, w["seconds"], w["accel_cpu_cores"],
                                             100 * w["accel_cpu_per_stream"], w["rtsp_cpu_cores"],
                                             *w["load_average"]))
    print("| stream | decoded fps | detection fps | dropped (source / busy) | latency p50 / p95 ms "
          "(last 256 frames) | p50 / p95 ms (histogram, window) | <= 250 ms | errors (decode / detect / "
          "reconnects) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in w["streams"].items():
        share = "-" if r["hist_le_250ms"] is None else "%.1f%%" % (100 * r["hist_le_250ms"])
        print("| %s | %.2f | %.2f | %d / %d | %s / %s | %s / %s | %s | %d / %d / %d |" % (
            name, r["decoded_fps"], r["detection_fps"], r["dropped_source"], r["dropped_busy"],
            fmt(r["p50_ms"]), fmt(r["p95_ms"]), fmt(r["hist_p50_ms"]), fmt(r["hist_p95_ms"]), share,
            r["decode_errors"], r["detection_errors"], r["reconnects"]))


def sustained(w, fps, source_fps, tolerance):
    rows = w["streams"].values()
    return (all(r["state"] == "running" for r in rows) and
            min(r["detection_fps"] for r in rows) >= tolerance * fps and
            min(r["decoded_fps"] for r in rows) >= tolerance * source_fps)


def run_main(args, service, rtsp, cores):
    names = stream_names(args.streams)
    add_streams(service, rtsp.port, names, args.fps)
    wait_running(service, names, 60)
    log("%d streams running; warm-up %d s" % (len(names), args.warmup))
    time.sleep(args.warmup)
    s0 = Snapshot(service, rtsp.pid)
    time.sleep(args.duration / 2)
    s1 = Snapshot(service, rtsp.pid)
    time.sleep(args.duration / 2)
    s2 = Snapshot(service, rtsp.pid)
    halves = [window(s0, s1, names, cores), window(s1, s2, names, cores)]
    whole = window(s0, s2, names, cores)
    target_ms = 1000.0 / args.fps + 2 * args.sim_ms
    print("\n## %d streams, %d s, detection at %g fps on SIMULATED devices (%d x sim, %g ms per inference)" % (
        len(names), args.duration, args.fps, args.sim_devices, args.sim_ms))
    print_window_table("First half", halves[0])
    print_window_table("Second half", halves[1])
    print_window_table("Whole run", whole)
    p95_halves = [max(r["p95_ms"] or 0 for r in h["streams"].values()) for h in halves]
    det_halves = [min(r["detection_fps"] for r in h["streams"].values()) for h in halves]
    print("\nTarget p95 <= 1000/fps + 2 x inference = %.0f ms. Worst stream p95 (last 256 frames): first half "
          "%.1f ms, second half %.1f ms. Lowest detection fps: first half %.2f, second half %.2f." % (
              target_ms, p95_halves[0], p95_halves[1], det_halves[0], det_halves[1]))
    return {"halves": halves, "whole": whole, "target_p95_ms": target_ms, "names": names}


def run_ramp(args, service, rtsp, cores, main_result):
    print("\n## Ramp: most streams sustained (SIMULATED devices; steps of %d s after %d s warm-up; sustained = "
          "every stream running, detection fps >= %.0f%% of %g and decoded fps >= %.0f%% of %g)\n" % (
              args.ramp_step, args.ramp_warmup, 100 * args.tolerance, args.fps, 100 * args.tolerance,
              args.source_fps))
    print("| streams | accel CPU (cores) | per stream (% of a core) | RTSP server (cores) | load average | "
          "detection fps min / median | decoded fps min / median | p95 ms worst (last 256) | busy drops | "
          "sustained |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    steps = []

    def row(count, w):
        rows = list(w["streams"].values())
        det = sorted(r["detection_fps"] for r in rows)
        dec = sorted(r["decoded_fps"] for r in rows)
        ok = sustained(w, args.fps, args.source_fps, args.tolerance)
        print("| %d | %.2f | %.1f | %.2f | %.1f | %.2f / %.2f | %.2f / %.2f | %s | %d | %s |" % (
            count, w["accel_cpu_cores"], 100 * w["accel_cpu_per_stream"], w["rtsp_cpu_cores"],
            w["load_average"][1], det[0], det[len(det) // 2], dec[0], dec[len(dec) // 2],
            fmt(max(r["p95_ms"] or 0 for r in rows)), sum(r["dropped_busy"] for r in rows),
            "yes" if ok else "**no**"), flush=True)
        steps.append({"streams": count, "window": w, "sustained": ok})
        return ok

    count = args.streams
    if not row(count, main_result["whole"]):
        return steps
    while count + args.ramp_by <= args.ramp_max:
        names = stream_names(count + args.ramp_by)
        add_streams(service, rtsp.port, names[count:], args.fps)
        count += args.ramp_by
        try:
            wait_running(service, names, 60)
        except RuntimeError as err:
            print("| %d | - | - | - | - | - | - | - | - | **no** (%s) |" % (count, err))
            steps.append({"streams": count, "sustained": False, "error": str(err)})
            break
        time.sleep(args.ramp_warmup)
        a = Snapshot(service, rtsp.pid)
        time.sleep(args.ramp_step)
        b = Snapshot(service, rtsp.pid)
        if not row(count, window(a, b, names, cores)):
            break
    best = max([s["streams"] for s in steps if s["sustained"]] or [0])
    print("\nMost streams sustained: **%d**%s" % (best, " (the ramp's limit, --ramp-max)" if all(
        s["sustained"] for s in steps) else ""))
    return steps


def run_rss(args, service, rtsp):
    names = stream_names(args.streams)
    add_streams(service, rtsp.port, names, args.fps)
    wait_running(service, names, 60)
    log("%d streams running; warm-up %d s, then RSS every %d s for %d s" % (
        len(names), args.warmup, args.rss_interval, args.rss_duration))
    time.sleep(args.warmup)
    start = Snapshot(service, rtsp.pid)
    samples, t0 = [], time.monotonic()
    while True:
        elapsed = time.monotonic() - t0
        samples.append((elapsed, rss_kib(service.proc.pid), load_average()))
        if elapsed >= args.rss_duration:
            break
        time.sleep(min(args.rss_interval, args.rss_duration - elapsed))
    end = Snapshot(service, rtsp.pid)
    w = window(start, end, names, os.cpu_count())
    rss = [s[1] for s in samples]
    first, last = rss[0], rss[-1]
    print("\n## Memory: %d streams for %d s, VmRSS every %d s (SIMULATED devices, %d x sim %g ms)\n" % (
        len(names), args.rss_duration, args.rss_interval, args.sim_devices, args.sim_ms))
    print("| first | last | min | max | growth (last vs first) | max vs first | samples | load average "
          "(min / max) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    loads = [s[2] for s in samples]
    print("| %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %+.2f%% | %+.2f%% | %d | %.1f / %.1f |" % (
        first / 1024, last / 1024, min(rss) / 1024, max(rss) / 1024, 100.0 * (last - first) / first,
        100.0 * (max(rss) - first) / first, len(rss), min(loads), max(loads)))
    print("\nRSS (MiB) at 0, 60, 120 ... s: " + ", ".join(
        "%.1f" % (r / 1024) for t, r, _ in samples if round(t) % 60 < args.rss_interval / 2 or t == samples[-1][0]))
    print_window_table("Streams over the memory run", w)
    return {"samples": samples, "window": w}


class Rtsp:
    def __init__(self, clip, count):
        self.port = free_port()
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "bench", "streams_rtsp_server.py"),
                                      clip, str(self.port), str(count)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError("the RTSP server did not start: %r" % line)
        self.pid = self.proc.pid

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def main():
    # SIGTERM (and Ctrl-C) end the run through the `finally` below, which stops accel and the RTSP server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--accel", default=os.path.join(ROOT, "build", "accel"))
    p.add_argument("--images", required=True)
    p.add_argument("--rss", action="store_true", help="the memory run instead of the throughput run")
    p.add_argument("--streams", type=int, default=4)
    p.add_argument("--fps", type=float, default=5)
    p.add_argument("--source-fps", type=int, default=15)
    p.add_argument("--duration", type=int, default=120)
    p.add_argument("--warmup", type=int, default=15)
    p.add_argument("--sim-ms", type=float, default=20)
    p.add_argument("--sim-devices", type=int, default=4)
    p.add_argument("--ramp-max", type=int, default=32)
    p.add_argument("--ramp-by", type=int, default=2)
    p.add_argument("--ramp-step", type=int, default=30)
    p.add_argument("--ramp-warmup", type=int, default=10)
    p.add_argument("--tolerance", type=float, default=0.95)
    p.add_argument("--rss-duration", type=int, default=600)
    p.add_argument("--rss-interval", type=int, default=10)
    p.add_argument("--json", help="also write every figure to this file")
    args = p.parse_args()

    work = tempfile.TemporaryDirectory(prefix="streams-bench-")
    clip = os.path.join(work.name, "clip.mp4")
    log("making the 1280x720 H.264 %d fps clip" % args.source_fps)
    make_clip(clip, args.images, args.source_fps, work.name)
    rtsp = Rtsp(clip, max(args.ramp_max, args.streams))
    service = None
    try:
        service = Service(args.accel, work.name, args.sim_ms, args.sim_devices)
        cores = os.cpu_count()
        print("# Video streams benchmark, SIMULATED devices (%s)" % time.strftime("%Y-%m-%d %H:%M"))
        print("\nMachine: %d cores, load average %.1f at the start. Source: 1280x720 H.264 (main, 2 Mbit/s, "
              "GOP 2 s) at %d fps over RTSP/TCP from a GStreamer server; accel serve --engines sim with %d "
              "simulated devices of %g ms per inference (SIMULATED: no model runs, no detections)." % (
                  cores, load_average(), args.source_fps, args.sim_devices, args.sim_ms))
        if args.rss:
            result = {"rss": run_rss(args, service, rtsp)}
        else:
            main_result = run_main(args, service, rtsp, cores)
            result = {"main": main_result, "ramp": run_ramp(args, service, rtsp, cores, main_result)}
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1, default=str)
    finally:
        if service:
            service.stop()
        rtsp.stop()


if __name__ == "__main__":
    main()
