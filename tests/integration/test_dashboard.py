#!/usr/bin/python3
"""Drives the web dashboard in headless Chromium against a real Accel server, then checks /metrics.

Python 3 standard library only, plus Debian's `chromium` (and `promtool` from `prometheus`). It speaks the
Chrome DevTools Protocol over a WebSocket client written here (RFC 6455 handshake and framing).

Steps (each prints PASS or stops the run with FAIL and a reason, exit status 1):
  1. start `$ACCEL_BIN serve --host 127.0.0.1 --port 0 --port-file F --models $ACCEL_MODELS`
     (plus $ACCEL_SERVE_ARGS) and wait for the port it writes to F (or use $ACCEL_URL, a running server);
  2. start Chromium headless with a fresh profile and a DevTools port of its choosing;
  3. load http://127.0.0.1:PORT/, wait until the page lists every device of GET /ai/engines, and check
     that each simulated device carries a visible SIMULATED badge;
  4. give the "Try it" file input a test image, wait until the page reports boxes drawn (data-detections on
     the canvas), require at least one;
  5. save a screenshot to $ACCEL_ARTIFACT_DIR/dashboard.png (default <repo>/build/artifacts);
  6. the streams panel (docs/streams.md): a watched stream added before the page loaded (a looping clip
     made with the ffmpeg CLI, a person from a test image sliding over a plain background) shows with its
     state, detection rate and a loaded snapshot image (skipped with $ACCEL_URL: the server could not read
     a local file);
  7. no console error, no uncaught exception, no failed resource on the page at any point;
  8. scrape /metrics (after that traffic): `promtool check metrics` must be silent, and every metric that
     deploy/grafana/accel-dashboard.json queries must be in the scrape (names in $ACCEL_OPTIONAL_METRICS,
     comma-separated, may be absent; use it only for series an engine reports where the hardware has them).

Environment: ACCEL_BIN, ACCEL_MODELS (or ACCEL_URL); ACCEL_SHARED_DIR (default <repo>/../shared);
ACCEL_ARTIFACT_DIR; ACCEL_SERVE_ARGS (extra serve arguments, split on spaces); CHROMIUM (browser path);
ACCEL_TEST_IMAGE (default $ACCEL_SHARED_DIR/testdata/images/000000000139.jpg).
"""

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class TestFailure(Exception):
    pass


def log(message):
    print(message, flush=True)


def fail(message):
    raise TestFailure(message)


def wait_until(predicate, timeout, what, interval=0.1):
    """Polls predicate() until it returns a truthy value; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def http_get(url, timeout=10):
    """Returns (status, body bytes); never raises on an HTTP error status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


# --------------------------------------------------------------------------------------------- WebSocket

class WebSocket:
    """A minimal RFC 6455 client: text frames out (masked), text/binary/control frames in."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, url, timeout=30):
        match = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        if not match:
            fail(f"unsupported WebSocket URL {url}")
        host, port, path = match.group(1), int(match.group(2)), match.group(3)
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        # No Origin header: Chromium only checks --remote-allow-origins for requests that send one.
        request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                fail("DevTools closed the connection during the WebSocket handshake")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            fail(f"WebSocket handshake refused: {lines[0]}")
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
        expected = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            fail("WebSocket handshake: wrong Sec-WebSocket-Accept")

    def _read_exact(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise ConnectionError("DevTools connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_text(self, text):
        self._send_frame(0x1, text.encode())

    def recv_message(self, timeout):
        """Returns the next complete text message, or None when `timeout` passes first."""
        self.sock.settimeout(timeout)
        message = b""
        try:
            while True:
                b0, b1 = self._read_exact(2)
                fin, opcode = b0 & 0x80, b0 & 0x0F
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self._read_exact(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._read_exact(8))[0]
                mask = self._read_exact(4) if b1 & 0x80 else None
                payload = self._read_exact(n)
                if mask:
                    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                if opcode == 0x9:  # ping
                    self._send_frame(0xA, payload)
                    continue
                if opcode == 0xA:  # pong
                    continue
                if opcode == 0x8:
                    raise ConnectionError("DevTools closed the WebSocket")
                message += payload
                if fin:
                    return message.decode("utf-8")
        except socket.timeout:
            if message:
                fail("DevTools sent a partial WebSocket message")
            return None

    def close(self):
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


# --------------------------------------------------------------------------------------------- DevTools

class DevTools:
    """One page target. Records console errors, uncaught exceptions and failed resources as they arrive."""

    def __init__(self, ws_url):
        self.ws = WebSocket(ws_url)
        self.next_id = 0
        self.problems = []
        self.seen_events = []

    def _handle_event(self, message):
        method = message.get("method", "")
        params = message.get("params", {})
        self.seen_events.append(method)
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.problems.append(f"console.{params.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exception = details.get("exception", {})
            self.problems.append("uncaught exception: " +
                                 str(exception.get("description") or details.get("text")))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                self.problems.append(
                    f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")

    def pump(self, seconds):
        """Processes events for up to `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            raw = self.ws.recv_message(left)
            if raw is None:
                return
            message = json.loads(raw)
            if "method" in message:
                self._handle_event(message)

    def call(self, method, params=None, timeout=30):
        self.next_id += 1
        call_id = self.next_id
        self.ws.send_text(json.dumps({"id": call_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"DevTools did not answer {method} within {timeout} s")
            raw = self.ws.recv_message(left)
            if raw is None:
                continue
            message = json.loads(raw)
            if message.get("id") == call_id:
                if "error" in message:
                    fail(f"DevTools {method} failed: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self._handle_event(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            fail(f"evaluating {expression!r} threw: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def wait_for_event(self, method, timeout):
        start = len(self.seen_events)
        deadline = time.monotonic() + timeout
        while method not in self.seen_events[start:]:
            if time.monotonic() > deadline:
                fail(f"timed out waiting for {method}")
            self.pump(0.2)

    def wait_for_value(self, expression, accept, timeout, what):
        """Evaluates `expression` until accept(value); returns that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if accept(value):
                return value
            if time.monotonic() > deadline:
                fail(f"timed out after {timeout:.0f} s waiting for {what} (last value: {value!r})")
            self.pump(0.2)  # events keep flowing while we wait

    def close(self):
        self.ws.close()


# --------------------------------------------------------------------------------------------- processes

def start_server(artifact_dir, temp_dir):
    binary = os.environ.get("ACCEL_BIN")
    models = os.environ.get("ACCEL_MODELS")
    if not binary or not models:
        fail("set ACCEL_BIN (the accel binary) and ACCEL_MODELS (models folder), or ACCEL_URL")
    if not os.access(binary, os.X_OK):
        fail(f"ACCEL_BIN={binary} is not an executable file")
    port_file = os.path.join(temp_dir, "port")
    # The result cache on (memory only): its card shows on the page and its metrics, which the Grafana
    # dashboard queries, are in the scrape.
    # No gRPC or zmq listener: their fixed default ports (8001, 5555) may be held by another test running
    # on the same machine, and the page uses neither.
    command = [binary, "serve", "--host", "127.0.0.1", "--port", "0", "--port-file", port_file,
               "--grpc-port", "-1", "--zmq-endpoint", "",
               "--models", models, "--cache", "true"] + os.environ.get("ACCEL_SERVE_ARGS", "").split()
    server_log = open(os.path.join(artifact_dir, "dashboard-server.log"), "wb")
    log("starting: " + " ".join(command))
    process = subprocess.Popen(command, stdout=server_log, stderr=subprocess.STDOUT,
                               start_new_session=True)

    def port_written():
        if process.poll() is not None:
            fail(f"the server exited with status {process.returncode} before listening; "
                 f"see {server_log.name}")
        try:
            with open(port_file) as f:
                text = f.read().strip()
            return int(text) if text else None
        except (OSError, ValueError):
            return None

    port = wait_until(port_written, 120, "the server to write its port to --port-file")
    return process, f"http://127.0.0.1:{port}"


def stop_process(process, grace=10):
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except (subprocess.TimeoutExpired, ProcessLookupError, PermissionError):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait(timeout=grace)


def find_chromium():
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    fail("Chromium is not installed (Debian: apt-get install -y chromium); this test needs it")


def start_chromium(temp_dir, artifact_dir):
    profile = os.path.join(temp_dir, "chromium-profile")
    os.makedirs(profile)
    command = [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--no-first-run", "--no-default-browser-check",
               "--disable-extensions", "--disable-dev-shm-usage", "--disable-component-update",
               "--disable-sync", "--hide-scrollbars", "--window-size=1280,1800",
               f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"]
    browser_log = open(os.path.join(artifact_dir, "dashboard-chromium.log"), "wb")
    process = subprocess.Popen(command, stdout=browser_log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    active_port = os.path.join(profile, "DevToolsActivePort")

    def devtools_port():
        if process.poll() is not None:
            fail(f"Chromium exited with status {process.returncode}; see {browser_log.name}")
        try:
            with open(active_port) as f:
                first = f.readline().strip()
            return int(first) if first else None
        except (OSError, ValueError):
            return None

    port = wait_until(devtools_port, 60, "Chromium's DevToolsActivePort file")
    return process, port


def page_websocket(devtools_port):
    def find_page():
        try:
            status, body = http_get(f"http://127.0.0.1:{devtools_port}/json/list", timeout=5)
        except OSError:
            return None
        if status != 200:
            return None
        pages = [t for t in json.loads(body)
                 if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
        return pages[0]["webSocketDebuggerUrl"] if pages else None

    return wait_until(find_page, 30, "a page target in Chromium")


# --------------------------------------------------------------------------------------------- checks

def server_devices(base_url):
    """The devices the server reports: /ai/engines {"engines": [{"devices": [...]}]}."""
    status, body = http_get(base_url + "/ai/engines")
    if status != 200:
        fail(f"GET /ai/engines answered {status}")
    engines = json.loads(body).get("engines", [])
    return [d for e in engines if isinstance(e, dict) for d in e.get("devices", []) if isinstance(d, dict)]


def add_stream(base_url, shared, temp_dir):
    """Makes a 3 s looping clip (a person sliding over a plain background, as in test_streams.py) and adds it
    as stream `dashcam` (2 fps, every detection reported at once, so that track events and their metrics
    come quickly). Returns the stream's name."""
    clip = os.path.join(temp_dir, "dashcam.mp4")
    if not shutil.which("ffmpeg"):
        fail("ffmpeg is not installed (Debian: apt-get install -y ffmpeg); this test needs it")
    made = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=0x607080:s=480x300:r=10:d=3",
         "-i", os.path.join(shared, "testdata", "images", "000000000872.jpg"), "-filter_complex",
         "[1:v]crop=266:484:146:130,scale=110:200[p];[0:v][p]overlay=x='20+t*15':y=60,format=yuv420p",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-r", "10", "-t", "3", clip],
        capture_output=True, timeout=60)
    if made.returncode != 0:
        fail(f"ffmpeg could not make the stream's clip: {made.stderr.decode(errors='replace')[-500:]}")
    body = json.dumps({"name": "dashcam", "url": clip, "loop": True, "fps": 2,
                       "tracker": {"min_hits": 1}}).encode()
    request = urllib.request.Request(base_url + "/ai/streams", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
        fail(f"POST /ai/streams answered {status}: {err.read()[:300]!r}")
    log(f"PASS stream dashcam added (POST /ai/streams: {status})")
    return "dashcam"


def check_streams_panel(devtools, stream):
    """The streams card is shown with the stream's tile: its state, a detection rate and a snapshot that
    the browser decoded (the <img> loaded a JPEG fetched from /ai/streams/{name}/snapshot.jpg)."""
    tile = f"document.querySelector('#streams .stream[data-stream=\"{stream}\"]')"
    devtools.wait_for_value(f"!document.getElementById('streams-card').hidden && !!{tile}",
                            lambda v: v is True, 30, "the streams card with the stream's tile")
    state = devtools.wait_for_value(f"{tile}.dataset.state", lambda v: v == "running", 30,
                                    "the stream's tile to say running")
    loaded = devtools.wait_for_value(
        f"(() => {{ const i = {tile}.querySelector('img.snapshot');"
        " return i.complete && Number(i.dataset.loaded) > 0 ? [i.naturalWidth, i.naturalHeight] : null; })()",
        lambda v: isinstance(v, list) and v[0] > 0 and v[1] > 0, 40, "the stream's snapshot to load")
    detection = devtools.wait_for_value(
        f"{tile}.querySelector('[data-figure=\"detected\"]').textContent",
        lambda v: isinstance(v, str) and re.match(r"^[0-9.]+ / 2$", v) and float(v.split()[0]) > 0, 30,
        "a detection rate on the stream's tile")
    log(f"PASS streams panel: {stream} {state}, detection fps {detection}, snapshot {loaded[0]}x{loaded[1]}")


def check_page(devtools, base_url, image_path, artifact_dir, stream=None):
    for domain in ("Runtime", "Log", "Page", "DOM"):
        devtools.call(f"{domain}.enable")
    devtools.call("Page.navigate", {"url": base_url + "/"})
    devtools.wait_for_event("Page.loadEventFired", 30)
    log("PASS page loaded")

    devices = server_devices(base_url)
    if not devices:
        fail("GET /ai/engines lists no device; the dashboard test needs at least one")
    count = devtools.wait_for_value(
        "Number(document.getElementById('devices').dataset.count || 0)",
        lambda v: isinstance(v, (int, float)) and v >= len(devices), 20, "the device list")
    shown = devtools.evaluate(
        "[...document.querySelectorAll('#devices .device')].map(d => d.dataset.device)")
    for device in devices:
        if device.get("id") not in shown:
            fail(f"device {device.get('id')} from /ai/engines is not on the page (shown: {shown})")
    simulated = [d["id"] for d in devices if d.get("simulated") is True]
    badged = devtools.evaluate(
        "[...document.querySelectorAll('#devices .device')]"
        ".filter(d => d.querySelector('.badge-sim') && d.innerText.includes('SIMULATED'))"
        ".map(d => d.dataset.device)")
    for device_id in simulated:
        if device_id not in badged:
            fail(f"simulated device {device_id} is shown without its SIMULATED label")
    for device_id in badged:
        if device_id not in simulated:
            fail(f"device {device_id} is labelled SIMULATED but /ai/engines says it is not")
    log(f"PASS devices shown: {int(count)} ({', '.join(shown)}); simulated labelled: {simulated or 'none'}")

    document = devtools.call("DOM.getDocument", {"depth": 0})
    node = devtools.call("DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": "#try-file"})
    if not node.get("nodeId"):
        fail("the page has no #try-file input")
    devtools.call("DOM.setFileInputFiles", {"files": [image_path], "nodeId": node["nodeId"]})
    # setFileInputFiles fires `change`, which starts a detection; if this Chromium does not, submit the form.
    deadline = time.monotonic() + 3
    while devtools.evaluate("document.getElementById('try-canvas').dataset.state") == "idle":
        if time.monotonic() > deadline:
            devtools.evaluate("document.getElementById('try-form').requestSubmit(); true")
            break
        devtools.pump(0.1)
    state = devtools.wait_for_value("document.getElementById('try-canvas').dataset.state",
                                    lambda v: v in ("done", "error"), 60, "the try-it result")
    status_text = devtools.evaluate("document.getElementById('try-status').textContent")
    if state != "done":
        fail(f"the try-it panel reported an error: {status_text}")
    detections = int(devtools.evaluate("Number(document.getElementById('try-canvas').dataset.detections)"))
    size = devtools.evaluate("[document.getElementById('try-canvas').width,"
                             " document.getElementById('try-canvas').height]")
    if detections < 1:
        fail(f"the try-it panel drew no box for {os.path.basename(image_path)} ({status_text})")
    log(f"PASS try-it drew {detections} boxes on a {size[0]}x{size[1]} canvas: {status_text}")

    if stream:
        check_streams_panel(devtools, stream)
    else:
        log("SKIP streams panel: $ACCEL_URL names a server that cannot read this machine's files")

    # Let a few polls and chart redraws happen with the new traffic before the picture is taken.
    devtools.pump(2.5)
    devtools.evaluate("document.getElementById('try-card').scrollIntoView(); window.scrollTo(0, 0); true")
    metrics = devtools.call("Page.getLayoutMetrics")
    content = metrics.get("cssContentSize") or metrics.get("contentSize")
    shot = devtools.call("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": content["width"], "height": content["height"], "scale": 1}})
    path = os.path.join(artifact_dir, "dashboard.png")
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    log(f"PASS screenshot saved: {path}")

    devtools.pump(0.5)
    if devtools.problems:
        fail("the page logged errors:\n  " + "\n  ".join(devtools.problems))
    log("PASS no console errors, exceptions or failed resources")


def dashboard_metric_names():
    path = os.path.join(REPO, "deploy", "grafana", "accel-dashboard.json")
    with open(path) as f:
        dashboard = json.load(f)
    names = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "query") and isinstance(value, str):
                    for name in re.findall(r"accel_[a-z_]+", value):
                        names.add(re.sub(r"_(bucket|sum|count)$", "", name))
                walk(value)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(dashboard)
    return names


def check_metrics(base_url, artifact_dir, extra_optional=()):
    status, body = http_get(base_url + "/metrics")
    if status != 200:
        fail(f"GET /metrics answered {status}")
    scrape_path = os.path.join(artifact_dir, "metrics-scrape.txt")
    with open(scrape_path, "wb") as f:
        f.write(body)
    promtool = shutil.which("promtool")
    if not promtool:
        fail("promtool is not installed (Debian: apt-get install -y prometheus); this test needs it")
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    complaints = (result.stdout + result.stderr).decode(errors="replace").strip()
    if result.returncode != 0 or complaints:
        fail(f"promtool check metrics (exit {result.returncode}) on {scrape_path}:\n{complaints}")
    log(f"PASS promtool check metrics on a scrape after traffic ({len(body)} bytes, {scrape_path})")

    text = body.decode()
    families = set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))
    present = {name for name in families
               if re.search(r"^" + re.escape(name) + r"(_bucket|_sum|_count)?[{ ]", text, re.MULTILINE)}
    optional = {n.strip() for n in os.environ.get("ACCEL_OPTIONAL_METRICS", "").split(",") if n.strip()}
    optional |= set(extra_optional)
    wanted = dashboard_metric_names()
    missing = sorted(wanted - present - optional)
    if missing:
        fail("the Grafana dashboard queries metrics absent from the scrape: " + ", ".join(missing))
    skipped = sorted((wanted - present) & optional)
    log(f"PASS all {len(wanted)} metrics the Grafana dashboard queries are in the scrape"
        + (f" (absent but declared optional: {', '.join(skipped)})" if skipped else ""))


def main():
    shared = os.environ.get("ACCEL_SHARED_DIR") or os.path.join(os.path.dirname(REPO), "shared")
    image = os.environ.get("ACCEL_TEST_IMAGE") or os.path.join(shared, "testdata", "images",
                                                               "000000000139.jpg")
    # Chromium's file chooser refuses paths that contain "..".
    image = os.path.realpath(image)
    artifact_dir = os.environ.get("ACCEL_ARTIFACT_DIR") or os.path.join(REPO, "build", "artifacts")
    os.makedirs(artifact_dir, exist_ok=True)
    server = browser = devtools = stream = None
    temp_dir = tempfile.mkdtemp(prefix="accel-dashboard-")
    try:
        if not os.path.isfile(image):
            fail(f"test image {image} not found (set ACCEL_SHARED_DIR or ACCEL_TEST_IMAGE)")
        find_chromium()  # fail early, before starting the server
        base_url = os.environ.get("ACCEL_URL", "").rstrip("/")
        if not base_url:
            server, base_url = start_server(artifact_dir, temp_dir)
        wait_until(lambda: _answers(base_url + "/ai/health"), 60, f"{base_url}/ai/health to answer")
        log(f"PASS server answering at {base_url}")
        if server is not None:
            stream = add_stream(base_url, shared, temp_dir)
        browser, devtools_port = start_chromium(temp_dir, artifact_dir)
        devtools = DevTools(page_websocket(devtools_port))
        check_page(devtools, base_url, image, artifact_dir, stream)
        # Without a stream of ours, the per-stream series exist only if the server watches some already.
        check_metrics(base_url, artifact_dir,
                      () if stream else [n for n in dashboard_metric_names() if n.startswith("accel_stream_")])
        log("dashboard test: all checks passed")
        return 0
    except TestFailure as err:
        log(f"FAIL {err}")
        return 1
    except (OSError, ConnectionError, json.JSONDecodeError) as err:
        log(f"FAIL {type(err).__name__}: {err}")
        return 1
    finally:
        if devtools is not None:
            try:
                devtools.close()
            except OSError:
                pass
        stop_process(browser)
        stop_process(server)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _answers(url):
    try:
        http_get(url, timeout=2)
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
