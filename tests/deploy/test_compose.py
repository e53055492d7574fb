"""deploy/compose/docker-compose.yml: `docker-compose config` accepts it for the default profile (cpu), hailo
and nvidia, and each profile's service is wired as docs/deploy.md says (devices, GPU reservation, the
seed's variables, ports, Prometheus target, Grafana's provisioned dashboard)."""
import os
import shutil
import subprocess

import yaml

from accel_testlib import fail

SOURCE = os.environ.get("ACCEL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
COMPOSE_DIR = os.path.join(SOURCE, "deploy", "compose")
SEED_VARIABLES = ["SUPPORT_HAILO", "SUPPORT_NVIDIA", "DEFAULT_ENGINE", "FALLBACK_ENGINE", "CACHE_ENABLED",
                  "REDIS_URL", "LOG_LEVEL", "DEBUG"]


def config(profile):
    env = dict(os.environ)
    env.pop("COMPOSE_PROFILES", None)
    if profile:
        env["COMPOSE_PROFILES"] = profile
    out = subprocess.run(["docker-compose", "config"], cwd=COMPOSE_DIR, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        fail("docker-compose config (profile %r) failed:\n%s" % (profile, out.stderr))
    return yaml.safe_load(out.stdout)


def main():
    if not shutil.which("docker-compose"):
        fail("docker-compose is not installed (scripts/setup --test installs Debian's docker-compose)")
    problems = []
    env_file = open(os.path.join(COMPOSE_DIR, ".env")).read()
    if "COMPOSE_PROFILES=cpu" not in env_file.split():
        problems.append(".env does not make cpu the default profile")
    wanted = {None: "accel", "cpu": "accel", "hailo": "accel-hailo", "nvidia": "accel-nvidia"}
    for profile, service_name in wanted.items():
        doc = config(profile)
        services = doc.get("services", {})
        for name in (service_name, "redis", "prometheus", "grafana"):
            if name not in services:
                problems.append("%s: no service %s" % (profile, name))
        svc = services.get(service_name, {})
        expected_profile = profile or "cpu"
        if svc.get("profiles") != [expected_profile]:
            problems.append("%s: %s has profiles %s" % (profile, service_name, svc.get("profiles")))
        env = svc.get("environment", {})
        for var in SEED_VARIABLES:
            if var not in env:
                problems.append("%s: %s lacks %s" % (profile, service_name, var))
        published = sorted(int(p["target"]) if isinstance(p, dict) else int(str(p).split(":")[-1])
                           for p in svc.get("ports", []))
        if published != [5555, 8000, 8001]:
            problems.append("%s: %s publishes %s" % (profile, service_name, published))
        aliases = (svc.get("networks", {}).get("default") or {}).get("aliases", [])
        if "accel" not in aliases:
            problems.append("%s: %s is not reachable as 'accel'" % (profile, service_name))
        if profile == "hailo":
            if env.get("SUPPORT_HAILO") != "true":
                problems.append("hailo: SUPPORT_HAILO is %r" % env.get("SUPPORT_HAILO"))
            if not any(str(d).startswith("/dev/hailo0") for d in svc.get("devices", [])):
                problems.append("hailo: /dev/hailo0 is not passed through: %s" % svc.get("devices"))
        if profile == "nvidia":
            if env.get("SUPPORT_NVIDIA") != "true":
                problems.append("nvidia: SUPPORT_NVIDIA is %r" % env.get("SUPPORT_NVIDIA"))
            devices = svc.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
            if not any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices):
                problems.append("nvidia: no GPU reservation: %s" % devices)
        grafana = services.get("grafana", {})
        sources = [str(v).split(":")[0] if isinstance(v, str) else v.get("source", "")
                   for v in grafana.get("volumes", [])]
        if not any(s.endswith("deploy/grafana/accel-dashboard.json") and os.path.isfile(s) for s in sources):
            problems.append("%s: grafana does not mount deploy/grafana/accel-dashboard.json: %s" % (profile, sources))
    prometheus = yaml.safe_load(open(os.path.join(COMPOSE_DIR, "prometheus.yml")))
    targets = [t for job in prometheus["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    if targets != ["accel:8000"]:
        problems.append("prometheus scrapes %s" % targets)
    datasource = yaml.safe_load(open(os.path.join(COMPOSE_DIR, "grafana/provisioning/datasources/prometheus.yml")))
    if datasource["datasources"][0]["url"] != "http://prometheus:9090":
        problems.append("grafana data source is %s" % datasource["datasources"][0]["url"])
    if problems:
        for p in problems:
            print("FAIL:", p)
        fail("%d problems in deploy/compose" % len(problems))
    print("compose: docker-compose config passes for the default (cpu), hailo and nvidia profiles")


if __name__ == "__main__":
    main()
