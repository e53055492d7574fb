"""The nvidia engine as a runtime plugin (libaccel_nvidia_engine.so next to `accel`, docs/nvidia.md):
- with --torch-cpu-device true the plugin is loaded (from the executable's folder, or from
  $ACCEL_PLUGIN_DIR first), lists nvidia-cpu:0 as test_only, and engine=nvidia requests satisfy the
  matching rule of shared/testdata/README.md;
- without the flag on a machine without an NVIDIA driver the nvidia kind is unavailable with the
  "no NVIDIA driver" reason and libtorch is not mapped into the process at all (cpu runtime opencv);
- CPU_RUNTIME=libtorch: the cpu device cpu:0 serves through the plugin's libtorch, /ai/engines says so, and
  engine=cpu requests satisfy the matching rule; CPU_RUNTIME=auto: both runtimes are timed at load and
  /ai/engines gives the timings.
Skips (exit 0 with a message) when this build has no plugin (no libtorch at configure time)."""
import base64
import ctypes
import os
import re
import sys
import tempfile

from accel_testlib import IMAGES, Server, check_matching_rule, fail, load_expected

PLUGIN = "libaccel_nvidia_engine.so"
IMAGES_TO_RUN = 3


def nvidia_kind(server):
    status, resp = server.json("GET", "/ai/engines")
    if status != 200:
        fail("/ai/engines answered %d: %s" % (status, resp))
    kinds = [e for e in resp.get("engines", []) if e.get("kind") == "nvidia"]
    if len(kinds) != 1:
        fail("/ai/engines lists %d nvidia entries: %s" % (len(kinds), resp))
    return kinds[0]


def mapped(pid, needle):
    with open("/proc/%d/maps" % pid) as f:
        return sorted({line.split()[-1] for line in f if needle in line and "/" in line})


def server_log(server):
    server.log.flush()
    with open(server.log_path) as f:
        return f.read()


def driver_present():
    if os.path.exists("/dev/nvidiactl"):
        return True
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


def check_cpu_device(server, failures):
    kind = nvidia_kind(server)
    devices = kind.get("devices", [])
    cpu = [d for d in devices if d.get("id") == "nvidia-cpu:0"]
    if not kind.get("available") or len(cpu) != 1:
        fail("nvidia-cpu:0 not listed: %s" % kind)
    if cpu[0].get("test_only") is not True:
        failures.append("nvidia-cpu:0 is not marked test_only: %s" % cpu[0])
    if cpu[0].get("state") != "ready" or "yolox-nano" not in cpu[0].get("models", []):
        failures.append("nvidia-cpu:0 is not ready with yolox-nano: %s" % cpu[0])


def check_inference(server, expected, failures):
    names = sorted(n for n in os.listdir(IMAGES) if n.endswith(".jpg"))[:IMAGES_TO_RUN]
    if len(names) < IMAGES_TO_RUN:
        fail("expected at least %d test images in %s" % (IMAGES_TO_RUN, IMAGES))
    for name in names:
        data = open(os.path.join(IMAGES, name), "rb").read()
        status, resp = server.json("POST", "/ai/infer", {"image_base64": base64.b64encode(data).decode(),
                                                         "threshold": 0.3, "engine": "nvidia"})
        if status != 200 or not resp.get("success"):
            failures.append("%s: HTTP %d %s" % (name, status, resp))
            continue
        if resp.get("engine_used") != "nvidia" or resp.get("device") != "nvidia-cpu:0":
            failures.append("%s: served by %s / %s, not nvidia / nvidia-cpu:0"
                            % (name, resp.get("engine_used"), resp.get("device")))
        dets = [dict(d["box"], label=d["label"], confidence=d["confidence"]) for d in resp["detections"]]
        for p in check_matching_rule(dets, expected[name]["detections"]):
            failures.append("%s engine=nvidia: %s" % (name, p))
        print("ok %s: %d detections on nvidia-cpu:0" % (name, len(dets)), flush=True)


def cpu_runtime_note(server):
    status, resp = server.json("GET", "/ai/engines")
    if status != 200:
        fail("/ai/engines answered %d: %s" % (status, resp))
    for e in resp.get("engines", []):
        if e.get("kind") == "cpu":
            for d in e.get("devices", []):
                if d.get("id") == "cpu:0":
                    return d.get("runtimes", {}).get("yolox-nano", "")
    fail("cpu:0 not in /ai/engines: %s" % resp)


def check_cpu_runtime(server, expected, failures):
    names = sorted(n for n in os.listdir(IMAGES) if n.endswith(".jpg"))[:IMAGES_TO_RUN]
    for name in names:
        data = open(os.path.join(IMAGES, name), "rb").read()
        status, resp = server.json("POST", "/ai/infer", {"image_base64": base64.b64encode(data).decode(),
                                                         "threshold": 0.3, "engine": "cpu"})
        if status != 200 or not resp.get("success") or resp.get("device") != "cpu:0":
            failures.append("%s: engine=cpu answered HTTP %d %s" % (name, status, resp))
            continue
        dets = [dict(d["box"], label=d["label"], confidence=d["confidence"]) for d in resp["detections"]]
        for p in check_matching_rule(dets, expected[name]["detections"]):
            failures.append("%s engine=cpu, runtime libtorch: %s" % (name, p))


def main():
    bin_path = os.environ.get("ACCEL_BIN") or fail("ACCEL_BIN is not set")
    bin_dir = os.path.dirname(os.path.realpath(bin_path))
    plugin_path = os.path.join(bin_dir, PLUGIN)
    if not os.path.exists(plugin_path):
        print("SKIP: %s does not exist (this build has no libtorch, so no nvidia plugin)" % plugin_path)
        return
    expected = load_expected()
    failures = []
    env = {"ACCEL_PLUGIN_DIR": ""}  # the default search path: the executable's folder

    # 1. CPU test device through the plugin, found next to the executable.
    with Server("--torch-cpu-device", "true", env=env) as server:
        check_cpu_device(server, failures)
        check_inference(server, expected, failures)
        log = server_log(server)
        if "engine plugin loaded from " + plugin_path not in log:
            failures.append("the log does not say the plugin was loaded from %s" % plugin_path)
        plugins = mapped(server.proc.pid, PLUGIN)
        if plugins != [os.path.realpath(plugin_path)]:
            failures.append("mapped plugin files: %s" % plugins)

    # 2. $ACCEL_PLUGIN_DIR comes first in the search path; TORCH_CPU_DEVICE works like the flag.
    with tempfile.TemporaryDirectory() as plugin_dir:
        os.symlink(plugin_path, os.path.join(plugin_dir, PLUGIN))
        with Server(env={"ACCEL_PLUGIN_DIR": plugin_dir, "TORCH_CPU_DEVICE": "true"}) as server:
            check_cpu_device(server, failures)
            wanted = "engine plugin loaded from " + os.path.join(plugin_dir, PLUGIN)
            if wanted not in server_log(server):
                failures.append("with ACCEL_PLUGIN_DIR the log lacks '%s'" % wanted)

    # 3. Without the flag: nothing is loaded unless an NVIDIA driver exists.
    with Server(env=env) as server:
        kind = nvidia_kind(server)
        torch_maps = mapped(server.proc.pid, "libtorch")
        if driver_present():
            print("note: an NVIDIA driver is present; the no-driver checks are skipped (nvidia: %s)"
                  % (kind.get("reason") or "%d device(s)" % len(kind.get("devices", []))))
        else:
            if kind.get("available") or kind.get("devices"):
                failures.append("nvidia is available without a driver: %s" % kind)
            if "no NVIDIA driver" not in kind.get("reason", ""):
                failures.append("nvidia reason is %r, expected the 'no NVIDIA driver' reason"
                                % kind.get("reason"))
            if kind.get("built") is not True:
                failures.append("nvidia should be reported as built: %s" % kind)
            if torch_maps or mapped(server.proc.pid, PLUGIN):
                failures.append("libtorch / the plugin is mapped without a driver: %s" % torch_maps)

    # 4. The cpu device with its libtorch runtime, forced and chosen by measurement.
    with Server(env=dict(env, CPU_RUNTIME="libtorch")) as server:
        note = cpu_runtime_note(server)
        if note != "libtorch: requested (--cpu-runtime/CPU_RUNTIME)":
            failures.append("CPU_RUNTIME=libtorch: cpu:0 runtime note is %r" % note)
        check_cpu_runtime(server, expected, failures)
        if not mapped(server.proc.pid, "libtorch"):
            failures.append("CPU_RUNTIME=libtorch but libtorch is not mapped")
    with Server(env=dict(env, CPU_RUNTIME="auto")) as server:
        note = cpu_runtime_note(server)
        # Three runtimes can run the default model: OpenCV, XNNPACK and libtorch, all timed.
        runtime = r"(opencv|xnnpack|libtorch)"
        if not re.match(r"^%s: auto: measured [0-9.]+ ms vs %s [0-9.]+ ms, %s [0-9.]+ ms at load$"
                        % (runtime, runtime, runtime), note):
            failures.append("CPU_RUNTIME=auto: cpu:0 runtime note is %r" % note)
        print("cpu:0 with CPU_RUNTIME=auto: %s" % note, flush=True)

    if failures:
        for f in failures:
            print("FAIL:", f)
        fail("%d nvidia plugin problems" % len(failures))
    print("nvidia_plugin: plugin loaded on demand, %d images matched on nvidia-cpu:0, not loaded without a "
          "driver" % IMAGES_TO_RUN)


if __name__ == "__main__":
    sys.exit(main())
