"""The CPU container image (docs/deploy.md), built with scripts/container from a clean copy of the checkout
(buildah here: no Docker engine), then run with the host network. By default the image is made around the
build folder's `accel` (`scripts/container build --prebuilt`: the runtime stage exactly as users get it, no
second compile of the project, which would double CI's build time); ACCEL_IMAGE_FULL_BUILD=1 builds it the
way users do, compiling in the Dockerfile's builder stage. Checks:
- the Dockerfile's builder installs every -dev package scripts/setup builds with (the full build's
  dependencies stay complete even when CI does not run it);
- the image: at most 450 MB uncompressed, no compiler, no -dev headers, no libtorch; HEALTHCHECK, a
  non-root USER, the /models volume and ports 8000/8001/5555 in its configuration;
- the server it starts: healthy on /ai/health within 5 s of start, configured only by environment variables,
  running as a non-root user; `accel health` (the HEALTHCHECK) exits 0, and 1 against a port nobody serves;
- /v1/vision/detection on the 8 test images gives the same detections as the native build (build/accel)
  and satisfies the reference matching rule; /metrics scrapes.
Prints the build time, the image size and the start-to-ready time.
ACCEL_TEST_IMAGE=NAME checks an image built before instead of building one (for rerunning the checks)."""
import datetime
import json
import os
import re
import shutil
import subprocess
import time
import uuid

from accel_testlib import IMAGES, Server, check_matching_rule, fail, load_expected
from deploy_testlib import (SOURCE, buildah, clean_copy, detect, free_ports, http_request, process_with_env,
                            require_root_and, run, tempdir, uid_of, wait_healthy)

# 300 MB until the video streams (issue 13) linked FFmpeg: Debian's libavcodec/libavformat/libavdevice
# bring about 265 MB of libraries (every codec's encoder, ICU through libxml2, Intel's Media SDK, SDL and
# PulseAudio through libavdevice); measured 419.7 MB with them (docs/deploy.md, "Measured").
SIZE_BUDGET_MB = 450
READY_BUDGET_S = float(os.environ.get("ACCEL_READY_BUDGET_S", "5"))


def build_image(tag):
    ctx = tempdir("accel-image-ctx-")
    try:
        n = clean_copy(ctx)
        print("clean copy of the checkout: %d files" % n, flush=True)
        env = dict(os.environ, ACCEL_CONTAINER_TOOL="buildah")
        command = [os.path.join(ctx, "scripts", "container"), "build", "--tag", tag]
        if os.environ.get("ACCEL_IMAGE_FULL_BUILD") != "1":
            command += ["--prebuilt", os.environ["ACCEL_BUILD_DIR"]]
        print("building: scripts/container %s" % " ".join(command[1:]), flush=True)
        start = time.monotonic()
        out = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        took = time.monotonic() - start
        if out.returncode != 0:
            print(out.stdout[-12000:])
            fail("scripts/container build failed (exit %d)" % out.returncode)
        for line in out.stdout.splitlines():
            if line.startswith("runtime packages:") or "cache hit" in line or "Hits:" in line:
                print("  " + line.strip())
        print("image build: %.0f s" % took, flush=True)
    finally:
        shutil.rmtree(ctx, ignore_errors=True)


def check_image_config(tag, problems):
    info = json.loads(buildah("inspect", "--type", "image", tag))
    config = info.get("Docker", {}).get("config", {}) or info.get("Docker", {}).get("Config", {})
    user = config.get("User", "")
    if not user or user in ("root", "0", "0:0"):
        problems.append("image USER is %r" % user)
    health = config.get("Healthcheck") or {}
    if "accel" not in " ".join(health.get("Test", [])) or "health" not in health.get("Test", []):
        problems.append("image HEALTHCHECK is %s" % health)
    if "/models" not in (config.get("Volumes") or {}):
        problems.append("no /models volume: %s" % config.get("Volumes"))
    ports = sorted(config.get("ExposedPorts") or {})
    if ports != ["5555/tcp", "8000/tcp", "8001/tcp"]:
        problems.append("exposed ports %s" % ports)
    return user


def check_image_contents(mnt, problems):
    out = run(["du", "-sb", "--exclude=./proc", "--exclude=./sys", "--exclude=./dev", mnt])
    size_mb = int(out.split()[0]) / 1e6
    print("image size: %.1f MB uncompressed (budget %d MB)" % (size_mb, SIZE_BUDGET_MB), flush=True)
    if size_mb > SIZE_BUDGET_MB:
        problems.append("image is %.1f MB, over %d MB" % (size_mb, SIZE_BUDGET_MB))
    for path in ("usr/bin/g++", "usr/bin/c++", "usr/bin/cc", "usr/bin/cmake", "usr/include/opencv4",
                 "usr/include/grpcpp", "usr/include/c++"):
        if os.path.lexists(os.path.join(mnt, path)):
            problems.append("the runtime image has /%s" % path)
    for dirpath, _, files in os.walk(os.path.join(mnt, "usr")):
        if any(f.startswith("libtorch") for f in files):
            problems.append("the cpu image carries libtorch (%s)" % dirpath[len(mnt):])
            break
    if not os.path.isfile(os.path.join(mnt, "models/yolox-nano/yolox_nano.onnx")):
        problems.append("the default model is not baked into /models")


def first_log_time(path):
    """The time (seconds since the epoch) of the first line of an accel log (2026-12-07T16:23:56.842Z ...)."""
    with open(path) as f:
        for line in f:
            stamp = line.split(" ", 1)[0]
            try:
                parsed = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
            except ValueError:
                continue
            return parsed.replace(tzinfo=datetime.timezone.utc).timestamp()
    fail("the server log has no timestamped line: %s" % path)


def packages_in(text, start_marker):
    """The package names listed after start_marker in text, up to the end of that list (`)` or `&&`)."""
    after = text[text.index(start_marker) + len(start_marker):]
    names = set()
    for word in after.replace("\\", " ").split():
        if word in ("&&", ")"):
            break
        if re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", word):
            names.add(word)
    return names


def check_builder_packages(problems):
    with open(os.path.join(SOURCE, "scripts", "setup")) as f:
        setup = packages_in(f.read(), "runtime_packages=(")
    with open(os.path.join(SOURCE, "Dockerfile")) as f:
        dockerfile = packages_in(f.read(), "apt-get install -y --no-install-recommends")
    # Test-only libraries (gtest) are not needed by the image's build (ACCEL_BUILD_TESTS=OFF).
    missing = sorted(p for p in setup - dockerfile if p.endswith("-dev") and "gtest" not in p and "gmock" not in p)
    if not setup or not dockerfile:
        problems.append("could not read the package lists of scripts/setup (%d) and the Dockerfile (%d)"
                        % (len(setup), len(dockerfile)))
    elif missing:
        problems.append("the Dockerfile's build-deps stage lacks %s (scripts/setup builds with them)" % missing)
    else:
        print("the Dockerfile's builder has all %d -dev packages of scripts/setup" %
              len([p for p in setup if p.endswith("-dev")]), flush=True)


def main():
    require_root_and("buildah", "debootstrap", "git")
    early = []
    check_builder_packages(early)
    if early:
        fail(early[0])
    if not os.path.isfile(os.environ.get("ACCEL_BIN", "")):
        fail("ACCEL_BIN (the native build's accel) is not built")
    tag = os.environ.get("ACCEL_TEST_IMAGE")
    built_here = not tag
    if built_here:
        tag = "localhost/accel:test-%d" % os.getpid()
        build_image(tag)
    problems = []
    container = None
    server = None
    log_dir = None
    finished = False  # a fail() inside (SystemExit) leaves it False: the server log is printed then too
    try:
        user = check_image_config(tag, problems)
        container = buildah("from", "--pull=false", tag)
        mnt = buildah("mount", container)
        check_image_contents(mnt, problems)

        http_port, grpc_port, zmq_port, unused_port = free_ports(4)
        marker = "ACCEL_TEST_MARK=%s" % uuid.uuid4().hex
        # Every setting by environment variable, as `docker run -e` would give them.
        settings = {"HOST": "127.0.0.1", "PORT": str(http_port), "GRPC_PORT": str(grpc_port),
                    "ZMQ_ENDPOINT": "tcp://127.0.0.1:%d" % zmq_port, "LOG_LEVEL": "info"}
        envs = []
        for k, v in list(settings.items()) + [tuple(marker.split("=", 1))]:
            envs += ["--env", "%s=%s" % (k, v)]
        log_dir = tempdir("accel-image-log-")
        log = open(os.path.join(log_dir, "server.log"), "w+")
        start = time.monotonic()
        server = subprocess.Popen(["buildah", "--storage-driver", "vfs", "run", "--isolation", "chroot",
                                   "--network", "host"] + envs + [container, "--", "accel", "serve"],
                                  stdout=log, stderr=subprocess.STDOUT)
        wait_healthy(http_port, server, 120)
        healthy_at = time.time()
        with_buildah = time.monotonic() - start
        # The budget is the server's: from its first log line (its own clock, the host's) to healthy.
        # `buildah run` itself (chroot set-up on vfs storage) adds seconds on a loaded machine that a
        # container engine's start does not; it is printed, not judged.
        ready = healthy_at - first_log_time(log.name)
        print("start to ready: %.2f s (server's first log line to /ai/health healthy; budget %.0f s); "
              "%.2f s from `buildah run`" % (ready, READY_BUDGET_S, with_buildah), flush=True)
        if ready > READY_BUDGET_S:
            problems.append("ready after %.2f s, over %.0f s" % (ready, READY_BUDGET_S))

        pids = process_with_env(marker)
        if len(pids) != 1:
            problems.append("found %d accel processes of this container" % len(pids))
        for pid in pids:
            uid = uid_of(pid)
            print("server process %d runs as uid %s (image USER %s)" % (pid, uid, user))
            if uid in (None, 0):
                problems.append("the server runs as uid %s" % uid)

        # The HEALTHCHECK command, with the same environment as the server, then against a dead port.
        hc = subprocess.run(["buildah", "--storage-driver", "vfs", "run", "--isolation", "chroot", "--network",
                             "host"] + envs + [container, "--", "accel", "health"], capture_output=True, text=True)
        if hc.returncode != 0:
            problems.append("accel health exited %d: %s %s" % (hc.returncode, hc.stdout, hc.stderr))
        hc = subprocess.run(["buildah", "--storage-driver", "vfs", "run", "--isolation", "chroot", "--network",
                             "host", "--env", "PORT=%d" % unused_port, container, "--", "accel", "health",
                             "--timeout-ms", "1000"], capture_output=True, text=True)
        if hc.returncode != 1:
            problems.append("accel health against a closed port exited %d, not 1" % hc.returncode)

        status, body = http_request(http_port, "GET", "/metrics")
        text = body.decode(errors="replace")
        if status != 200 or "# TYPE accel_build_info gauge" not in text:
            problems.append("/metrics answered %d: %r" % (status, text[:200]))

        expected = load_expected()
        names = sorted(n for n in os.listdir(IMAGES) if n.endswith(".jpg"))
        if len(names) != 8:
            problems.append("expected 8 test images, found %d" % len(names))
        with Server() as native:
            for name in names:
                path = os.path.join(IMAGES, name)
                ours = detect(http_port, path)
                theirs = detect(native.port, path)
                if len(ours) != len(theirs):
                    problems.append("%s: %d detections in the image, %d native" % (name, len(ours), len(theirs)))
                for a, b in zip(ours, theirs):
                    same = (a["label"] == b["label"] and abs(a["confidence"] - b["confidence"]) <= 0.002 and
                            all(abs(a[k] - b[k]) <= 1 for k in ("x_min", "y_min", "x_max", "y_max")))
                    if not same:
                        problems.append("%s: image %s vs native %s" % (name, a, b))
                for p in check_matching_rule(ours, expected[name]["detections"], integer_boxes=True):
                    problems.append("%s vs reference: %s" % (name, p))
                print("ok %s: %d detections, same as native" % (name, len(ours)), flush=True)
        status, body = http_request(http_port, "GET", "/metrics")
        if b'api="deepstack"' not in body:
            problems.append("/metrics does not count the deepstack requests")
        finished = True
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if server is not None and (problems or not finished):
            log.seek(0)
            print("---- server log ----\n" + log.read()[-4000:] + "\n---- end ----")
        if log_dir:
            shutil.rmtree(log_dir, ignore_errors=True)
        if container:
            buildah("rm", container, check=False)
        if built_here and not os.environ.get("ACCEL_KEEP_TEST_IMAGE"):
            buildah("rmi", tag, check=False)
    if problems:
        for p in problems:
            print("FAIL:", p)
        fail("%d problems with the container image" % len(problems))
    print("container image: all checks passed")


if __name__ == "__main__":
    main()
