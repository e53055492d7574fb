"""Helpers of the deployment tests (tests/deploy): a clean copy of the checkout, buildah with vfs storage,
free ports, waiting for a server, detections over HTTP. Standard library only (plus accel_testlib)."""
import http.client
import json
import os
import socket
import subprocess
import tempfile
import time

from accel_testlib import fail, multipart

SOURCE = os.path.abspath(os.environ.get("ACCEL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", ".."))


def run(args, **kwargs):
    """Runs a command, failing the test with its output when it exits non-zero. Returns stdout."""
    out = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if out.returncode != 0:
        fail("%s exited %d:\n%s\n%s" % (" ".join(args), out.returncode, out.stdout[-4000:], out.stderr[-4000:]))
    return out.stdout


def require_root_and(*tools):
    if os.geteuid() != 0:
        fail("this test needs root (buildah with chroot isolation, chroot)")
    import shutil
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        fail("missing tools: %s (scripts/setup --test installs them)" % ", ".join(missing))


def clean_copy(dest):
    """The checkout as a fresh clone would have it: tracked and untracked-but-not-ignored files only."""
    files = run(["git", "-C", SOURCE, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    names = [n for n in files.split("\0") if n and os.path.lexists(os.path.join(SOURCE, n))]
    listing = os.path.join(dest, ".files")
    with open(listing, "w") as f:
        f.write("\0".join(names))
    tar = subprocess.Popen(["tar", "-C", SOURCE, "--null", "-T", listing, "-cf", "-"], stdout=subprocess.PIPE)
    run(["tar", "-C", dest, "-xf", "-"], stdin=tar.stdout)
    if tar.wait() != 0:
        fail("tar of the checkout failed")
    os.unlink(listing)
    return len(names)


def buildah(*args, check=True):
    cmd = ["buildah", "--storage-driver", "vfs"] + list(args)
    if check:
        return run(cmd).strip()
    return subprocess.run(cmd, capture_output=True, text=True)


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def http_request(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_healthy(port, proc, deadline_s):
    """Seconds from now until /ai/health says healthy; fails when `proc` exits or the deadline passes."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < deadline_s:
        if proc.poll() is not None:
            fail("the server exited with %s before it was ready" % proc.returncode)
        try:
            status, body = http_request(port, "GET", "/ai/health", timeout=2)
            last = (status, body[:200])
            if status == 200 and json.loads(body).get("status") == "healthy":
                return time.monotonic() - start
        except (OSError, ValueError, http.client.HTTPException) as e:
            last = repr(e)
        time.sleep(0.05)
    fail("not healthy within %.0f s (last answer: %s)" % (deadline_s, last))


def detect(port, image_path, min_confidence="0.3"):
    data = open(image_path, "rb").read()
    body, ctype = multipart({"min_confidence": min_confidence}, {"image": (os.path.basename(image_path), data, "image/jpeg")})
    status, raw = http_request(port, "POST", "/v1/vision/detection", body, {"Content-Type": ctype}, timeout=60)
    if status != 200:
        fail("/v1/vision/detection answered %d: %r" % (status, raw[:300]))
    resp = json.loads(raw)
    if not resp.get("success"):
        fail("/v1/vision/detection: %s" % resp)
    return resp["predictions"]


def process_with_env(marker):
    """PIDs of processes named accel whose environment holds `marker` (KEY=VALUE)."""
    pids = []
    needle = marker.encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() != "accel":
                    continue
            with open("/proc/%s/environ" % pid, "rb") as f:
                if needle in f.read().split(b"\0"):
                    pids.append(int(pid))
        except OSError:
            continue
    return pids


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def tempdir(prefix):
    return tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("TMPDIR", "/var/tmp"))
