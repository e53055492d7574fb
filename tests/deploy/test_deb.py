"""The Debian package (docs/deploy.md): scripts/package builds it from the build folder; lintian reports no
errors; its unit passes `systemd-analyze verify` and is sandboxed as the issue asks; installed with apt into
a clean Debian 12 root (the cached debootstrap root, copied, entered with chroot in a private mount
namespace), `accel serve` started from the installed paths with the packaged settings (/etc/default/accel)
as an unprivileged user answers a detection that satisfies the reference matching rule."""
import os
import shutil
import signal
import subprocess
import time

from accel_testlib import IMAGES, check_matching_rule, fail, load_expected
from deploy_testlib import SOURCE, detect, free_ports, require_root_and, run, tempdir, wait_healthy

UNIT = "lib/systemd/system/accel.service"


def unit_settings(path):
    settings = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def check_package_files(deb, extracted, problems):
    run(["dpkg-deb", "-x", deb, extracted])
    for path in ("usr/bin/accel", "usr/share/accel/models/yolox-nano/model.yaml",
                 "usr/share/accel/models/yolox-nano/yolox_nano.onnx", "etc/default/accel", UNIT,
                 "usr/share/accel/systemd/hailo.conf", "usr/share/accel/systemd/nvidia.conf",
                 "usr/share/doc/accel/copyright", "usr/share/doc/accel/changelog.Debian.gz"):
        if not os.path.isfile(os.path.join(extracted, path)):
            problems.append("the package lacks /%s" % path)
    control = run(["dpkg-deb", "-f", deb])
    print(control.strip())
    conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]) if "conffiles" in run(["dpkg-deb", "-I", deb]) else ""
    if "/etc/default/accel" not in conffiles.split():
        problems.append("/etc/default/accel is not a conffile (%r)" % conffiles)
    defaults = open(os.path.join(extracted, "etc/default/accel")).read()
    if "MODELS_DIR=/usr/share/accel/models" not in defaults.split():
        problems.append("/etc/default/accel does not point MODELS_DIR at /usr/share/accel/models")


def check_unit(extracted, problems):
    unit = unit_settings(os.path.join(extracted, UNIT))
    wanted = {"DynamicUser": "yes", "ProtectSystem": "strict", "NoNewPrivileges": "yes", "Restart": "on-failure",
              "PrivateDevices": "yes", "ExecStart": "/usr/bin/accel serve",
              "EnvironmentFile": "-/etc/default/accel"}
    for key, value in wanted.items():
        if unit.get(key) != [value]:
            problems.append("accel.service: %s=%s, wanted %s" % (key, unit.get(key), value))
    for engine, prefix in (("hailo", "/dev/hailo"), ("nvidia", "char-nvidia")):
        dropin = unit_settings(os.path.join(extracted, "usr/share/accel/systemd/%s.conf" % engine))
        allowed = dropin.get("DeviceAllow", [])
        if dropin.get("PrivateDevices") != ["no"] or dropin.get("DevicePolicy") != ["closed"] or not allowed or \
                not all(a.startswith(prefix) for a in allowed):
            problems.append("%s.conf does not open exactly the %s devices: %s" % (engine, engine, dropin))
    # verify resolves ExecStart and the units it depends on against --root: the extracted package, with this
    # machine's systemd units beside ours. A bad value is only a warning (exit 0), so any output fails too.
    # The unit is verified alone and with each drop-in applied.
    run(["cp", "-an", "/lib/systemd/system/.", os.path.join(extracted, "lib/systemd/system/")])
    dropin_dir = os.path.join(extracted, "etc/systemd/system/accel.service.d")
    for dropin in (None, "hailo.conf", "nvidia.conf"):
        shutil.rmtree(dropin_dir, ignore_errors=True)
        if dropin:
            os.makedirs(dropin_dir)
            shutil.copy(os.path.join(extracted, "usr/share/accel/systemd", dropin), dropin_dir)
        out = subprocess.run(["systemd-analyze", "verify", "--root=" + extracted, "/" + UNIT],
                             capture_output=True, text=True)
        said = (out.stdout + out.stderr).strip()
        print("systemd-analyze verify accel.service%s: exit %d%s" % (" + " + dropin if dropin else "",
                                                                    out.returncode, " " + said if said else ""))
        if out.returncode != 0 or said:
            problems.append("systemd-analyze verify (%s): %s" % (dropin or "unit", said))
    shutil.rmtree(dropin_dir, ignore_errors=True)
    sec = subprocess.run(["systemd-analyze", "security", "--offline=true", "--root=" + extracted, "accel.service"],
                         capture_output=True, text=True)
    for line in (sec.stdout + sec.stderr).splitlines():
        if "Overall exposure level" in line:
            print("systemd-analyze security: " + line.strip().lstrip("→").strip())


def chroot_command(root, script):
    """A shell command for `root`, with its own /proc, in a private mount namespace that disappears with it
    (so nothing stays mounted in the copy that is deleted afterwards)."""
    return ["unshare", "--mount", "--propagation", "private", "--fork", "--kill-child", "sh", "-c",
            'mount -t proc proc "$0/proc" && exec chroot "$0" sh -c "$1"', root, script]


def main():
    require_root_and("lintian", "systemd-analyze", "debootstrap", "dpkg-deb", "unshare", "chroot")
    problems = []
    work = tempdir("accel-deb-")
    root = os.path.join(work, "root")
    server = None
    finished = False  # a fail() inside (SystemExit) leaves it False: the server log is printed then too
    try:
        start = time.monotonic()
        deb = run([os.path.join(SOURCE, "scripts", "package")], env=dict(os.environ, ACCEL_SKIP_LINTIAN="1"))
        deb = deb.strip().splitlines()[-1]
        print("package: %s, %.1f MB (%.0f s)" % (os.path.basename(deb), os.path.getsize(deb) / 1e6,
                                                 time.monotonic() - start), flush=True)
        lint = subprocess.run(["lintian", "--fail-on", "error", deb], capture_output=True, text=True)
        tags = [l for l in lint.stdout.splitlines() if l[:2] in ("E:", "W:", "I:")]
        print("lintian: exit %d, %d errors, %d warnings" % (lint.returncode, sum(t.startswith("E:") for t in tags),
                                                           sum(t.startswith("W:") for t in tags)))
        for t in tags:
            print("  " + t)
        if lint.returncode != 0 or any(t.startswith("E:") for t in tags):
            problems.append("lintian reports errors")
        extracted = os.path.join(work, "extracted")
        os.makedirs(extracted)
        check_package_files(deb, extracted, problems)
        check_unit(extracted, problems)

        clean = run([os.path.join(SOURCE, "scripts", "container"), "rootfs"]).strip().splitlines()[-1]
        run(["cp", "-a", clean, root])
        shutil.copy(deb, os.path.join(root, "tmp", "accel.deb"))
        shutil.copy("/etc/resolv.conf", os.path.join(root, "etc", "resolv.conf"))
        start = time.monotonic()
        run(chroot_command(root, "export DEBIAN_FRONTEND=noninteractive; apt-get update -q && "
                                 "apt-get install -y -q --no-install-recommends /tmp/accel.deb"))
        print("apt-get install into a clean Debian 12 root: %.0f s" % (time.monotonic() - start), flush=True)

        http_port, grpc_port, zmq_port = free_ports(3)
        script = ("cd / && set -a && . /etc/default/accel && set +a && "
                  "export HOST=127.0.0.1 PORT=%d GRPC_PORT=%d ZMQ_ENDPOINT=tcp://127.0.0.1:%d && "
                  "exec setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs /usr/bin/accel serve"
                  % (http_port, grpc_port, zmq_port))
        log = open(os.path.join(work, "server.log"), "w+")
        start = time.monotonic()
        server = subprocess.Popen(chroot_command(root, script), stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        wait_healthy(http_port, server, 60)
        print("installed accel ready in %.2f s" % (time.monotonic() - start))
        name = "000000000139.jpg"
        predictions = detect(http_port, os.path.join(IMAGES, name))
        if not predictions:
            problems.append("no detection on %s" % name)
        for p in check_matching_rule(predictions, load_expected()[name]["detections"], integer_boxes=True):
            problems.append("%s: %s" % (name, p))
        print("detection from the installed package: %d predictions on %s (%s)" %
              (len(predictions), name, ", ".join(sorted({p["label"] for p in predictions}))))
        finished = True
    finally:
        if server is not None:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()
            if problems or not finished:
                log.seek(0)
                print("---- server log ----\n" + log.read()[-4000:] + "\n---- end ----")
        # Mounts lived only in the private namespaces; refuse to delete through one that did not.
        mounted = [l for l in open("/proc/mounts") if " %s/" % root in l]
        if mounted:
            print("not deleting %s: still mounted: %s" % (work, mounted))
        else:
            shutil.rmtree(work, ignore_errors=True)
    if problems:
        for p in problems:
            print("FAIL:", p)
        fail("%d problems with the Debian package" % len(problems))
    print("deb: all checks passed")


if __name__ == "__main__":
    main()
