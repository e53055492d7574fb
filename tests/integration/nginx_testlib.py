"""Real nginx (Debian's package) for the integration tests, run unprivileged-style: its own prefix, pid, logs
and temp paths under a temporary folder, listening on free ports, `nginx -p DIR -c FILE -g 'daemon off;'`.
The HTTP/gRPC configuration is the shipped deploy/nginx/accel.conf with only its upstream servers and listen
ports replaced, so the test runs what users run. Also instances of `accel serve` that can be killed and
started again on the same ports (for the balancer's point of view)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from accel_testlib import fail

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ACCEL_CONF = os.path.join(SOURCE, "deploy", "nginx", "accel.conf")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, limit=30, proc=None):
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def _replace_upstream(text, name, addresses):
    """Replaces the `server ...;` lines of `upstream NAME {}` with one per address, keeping the parameters
    (max_fails, fail_timeout) of the shipped first line."""
    block = re.search(r"upstream %s \{\n(.*?)\n\}" % re.escape(name), text, re.S)
    if not block:
        fail("deploy/nginx/accel.conf has no upstream %s" % name)
    body = block.group(1)
    servers = re.findall(r"^ *server \S+( [^;]*)?;$", body, re.M)
    if not servers:
        fail("upstream %s in deploy/nginx/accel.conf lists no server" % name)
    params = servers[0] or ""
    lines = [line for line in body.split("\n") if not re.match(r"^ *server \S+", line)]
    new = ["    server %s%s;" % (a, params) for a in addresses] + lines
    return text[:block.start(1)] + "\n".join(new) + text[block.end(1):]


def render_accel_conf(http_addresses, grpc_addresses, http_port, grpc_port):
    text = open(ACCEL_CONF).read()
    text = _replace_upstream(text, "accel_http", http_addresses)
    text = _replace_upstream(text, "accel_grpc", grpc_addresses)
    for old, new in (("listen 8000;", "listen 127.0.0.1:%d;" % http_port),
                     ("listen 8001 http2;", "listen 127.0.0.1:%d http2;" % grpc_port)):
        if text.count(old) != 1:
            fail("deploy/nginx/accel.conf: expected one '%s'" % old)
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx with `http_conf` inside http {} and/or `stream_conf` inside stream {}; a context manager."""

    def __init__(self, http_conf="", stream_conf="", watch_ports=()):
        self.http_conf = http_conf
        self.stream_conf = stream_conf
        self.watch_ports = watch_ports

    def __enter__(self):
        if not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
            fail("nginx is not installed (Debian package nginx; scripts/setup --test installs it)")
        self.dir = tempfile.mkdtemp(prefix="accel-nginx-")
        for sub in ("logs", "tmp"):
            os.makedirs(os.path.join(self.dir, sub))
        # Started as root, nginx's workers run as nobody: they must be able to write the temp paths.
        os.chmod(self.dir, 0o755)
        os.chmod(os.path.join(self.dir, "tmp"), 0o777)
        main = []
        if self.stream_conf:
            # Debian builds the stream module as a dynamic module (package libnginx-mod-stream).
            module = "/usr/lib/nginx/modules/ngx_stream_module.so"
            if not os.path.exists(module):
                fail("nginx's stream module is missing: install Debian's libnginx-mod-stream")
            main.append("load_module %s;" % module)
        main += ["worker_processes 1;", "pid %s/nginx.pid;" % self.dir, "error_log %s/logs/error.log info;" % self.dir,
                "events { worker_connections 1024; }"]
        if self.http_conf:
            temp = "\n".join("    %s_temp_path %s/tmp/%s;" % (kind, self.dir, kind)
                             for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            main.append("http {\n    access_log %s/logs/access.log;\n%s\n%s\n}" % (self.dir, temp, self.http_conf))
        if self.stream_conf:
            main.append("stream {\n%s\n}" % self.stream_conf)
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(main) + "\n")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        check = subprocess.run([nginx, "-t", "-p", self.dir, "-c", self.conf], capture_output=True, text=True)
        if check.returncode != 0:
            fail("nginx -t refused the generated configuration:\n%s\n%s" % (check.stderr, open(self.conf).read()))
        self.log = open(os.path.join(self.dir, "logs", "stderr.log"), "w")
        self.proc = subprocess.Popen([nginx, "-p", self.dir, "-c", self.conf, "-g", "daemon off;"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for port in self.watch_ports:
            if not wait_port(port, 20, self.proc):
                self.dump()
                fail("nginx did not listen on port %d" % port)
        return self

    def dump(self):
        for name in ("stderr.log", "error.log"):
            path = os.path.join(self.dir, "logs", name)
            if os.path.exists(path):
                print("---- nginx %s (tail) ----" % name)
                print(open(path).read()[-4000:])
        print("---- end ----", flush=True)

    def error_log(self):
        return open(os.path.join(self.dir, "logs", "error.log")).read()

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if exc[0] is not None:
            self.dump()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


class Instance:
    """One `accel serve` on fixed ports (HTTP, gRPC, optionally zmq) that can be killed and started again on
    the same ports, as a balancer sees an instance come and go."""

    def __init__(self, name, args, zmq=False):
        self.bin = os.environ.get("ACCEL_BIN") or fail("ACCEL_BIN is not set")
        self.models = os.environ.get("ACCEL_MODELS") or fail("ACCEL_MODELS is not set")
        self.name = name
        self.args = list(args)
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.zmq_port = free_port() if zmq else None
        self.dir = tempfile.mkdtemp(prefix="accel-%s-" % name)
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.log_path = os.path.join(self.dir, "server-%d.log" % self.starts)
        self.log = open(self.log_path, "w")
        zmq = "tcp://127.0.0.1:%d" % self.zmq_port if self.zmq_port else ""
        args = [self.bin, "serve", "--host", "127.0.0.1", "--port", str(self.http_port), "--port-file", port_file,
                "--grpc-port", str(self.grpc_port), "--zmq-endpoint", zmq, "--models", self.models] + self.args
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.dump()
                fail("%s exited with code %s during start" % (self.name, self.proc.returncode))
            if os.path.exists(port_file) and open(port_file).read().strip():
                return self
            time.sleep(0.02)
        self.dump()
        fail("%s did not start within 60 s" % self.name)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Exit code, or None when still running after `timeout` seconds."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_text(self):
        self.log.flush()
        return open(self.log_path).read()

    def dump(self):
        print("---- %s log (tail) ----" % self.name)
        print(self.log_text()[-4000:])
        print("---- end ----", flush=True)

    def stop(self):
        if self.alive():
            self.proc.terminate()
            if self.wait(20) is None:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
