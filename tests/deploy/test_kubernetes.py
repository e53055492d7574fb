"""deploy/kubernetes/: every overlay (cpu, nvidia, hailo) and the KServe example render with
`kubectl kustomize` (whichever kubectl the machine has; no cluster needed), and the rendered objects are
what docs/deploy.md says: image per variant, KServe health probes, ports, resources (GPU limit, Hailo device),
termination grace above the drain timeout, Service, PodDisruptionBudget, HorizontalPodAutoscaler,
ServiceMonitor, Redis; every variable the Deployment sets is one `accel serve` knows. yamllint passes.
Exits 77 (CTest: skipped) when the kubectl present cannot render kustomizations of this form."""
import os
import re
import shutil
import subprocess
import sys

import yaml

from accel_testlib import fail

SOURCE = os.environ.get("ACCEL_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
K8S = os.path.join(SOURCE, "deploy", "kubernetes")
SKIP = 77
# Variables of other components, or of the result cache (issue 11) that versions without it ignore.
FOREIGN_VARIABLES = {"NVIDIA_DRIVER_CAPABILITIES", "CACHE_ENABLED", "REDIS_URL"}

problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
        print("FAIL:", msg, flush=True)


def render(path):
    out = subprocess.run(["kubectl", "kustomize", path], capture_output=True, text=True)
    if out.returncode != 0:
        version = subprocess.run(["kubectl", "version", "--client"], capture_output=True, text=True).stdout
        match = re.search(r"Kustomize Version: v?(\d+)", version)
        if match is None or int(match.group(1)) < 4:
            print("SKIP: this kubectl cannot render the kustomizations (needs kustomize v4 or newer for "
                  "'labels' and inline 'patches'): %s\n%s" % (version.strip(), out.stderr.strip()))
            sys.exit(SKIP)
        fail("kubectl kustomize %s failed:\n%s" % (path, out.stderr))
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def find(docs, kind, name):
    hits = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    check(len(hits) == 1, "%d %s/%s objects rendered (want 1)" % (len(hits), kind, name))
    return hits[0] if hits else {}


def known_variables():
    out = subprocess.run([os.environ["ACCEL_BIN"], "serve", "--help"], capture_output=True, text=True)
    return set(re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", out.stdout))


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_overlay(variant, known):
    docs = render(os.path.join(K8S, "overlays", variant))
    where = "overlay " + variant
    deploy = find(docs, "Deployment", "accel")
    pod = deploy["spec"]["template"]
    spec = pod["spec"]
    accel = [c for c in spec["containers"] if c["name"] == "accel"]
    check(len(accel) == 1, where + ": no container accel")
    c = accel[0]
    check(c["image"] == "localhost/accel:" + variant, "%s: image %s" % (where, c["image"]))
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    check(ports.get("http") == 8000 and ports.get("grpc") == 8001, "%s: container ports %s" % (where, ports))
    for probe, path in (("readinessProbe", "/v2/health/ready"), ("livenessProbe", "/v2/health/live"),
                        ("startupProbe", "/v2/health/live")):
        got = c.get(probe, {}).get("httpGet", {})
        check(got.get("path") == path and got.get("port") == "http", "%s: %s is %s" % (where, probe, got))
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    for name in env:
        check(name in known or name in FOREIGN_VARIABLES,
              "%s: variable %s is not an `accel serve` setting" % (where, name))
    drain = int(env.get("DRAIN_TIMEOUT_S", "15"))
    pause = 0
    pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    if pre_stop[:1] == ["sleep"]:
        pause = int(pre_stop[1])
    grace = spec.get("terminationGracePeriodSeconds", 30)
    check(grace > drain + pause, "%s: terminationGracePeriodSeconds %s <= drain %s + preStop %s" %
          (where, grace, drain, pause))
    check(env.get("REDIS_URL") == "redis://accel-redis:6379", "%s: REDIS_URL %s" % (where, env.get("REDIS_URL")))
    resources = c.get("resources", {})
    check("cpu" in resources.get("requests", {}) and "memory" in resources.get("requests", {}),
          "%s: no cpu/memory requests: %s" % (where, resources))
    check("memory" in resources.get("limits", {}), "%s: no memory limit" % where)
    gpu = resources.get("limits", {}).get("nvidia.com/gpu")
    if variant == "nvidia":
        check(gpu == 1, "nvidia: nvidia.com/gpu limit %s" % gpu)
        check(env.get("SUPPORT_NVIDIA") == "true", "nvidia: SUPPORT_NVIDIA %s" % env.get("SUPPORT_NVIDIA"))
        check(spec.get("nodeSelector"), "nvidia: no nodeSelector")
    else:
        check(gpu is None, "%s: asks for a GPU" % where)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    if variant == "hailo":
        name = mounts.get("/dev/hailo0")
        host = volumes.get(name, {}).get("hostPath", {})
        check(host.get("path") == "/dev/hailo0" and host.get("type") == "CharDevice",
              "hailo: /dev/hailo0 not passed through: %s %s" % (mounts, volumes))
        check(spec.get("nodeSelector"), "hailo: no nodeSelector")
        check(env.get("SUPPORT_HAILO") == "true", "hailo: SUPPORT_HAILO %s" % env.get("SUPPORT_HAILO"))
    else:
        check("/dev/hailo0" not in mounts, "%s: mounts /dev/hailo0" % where)
    labels = pod["metadata"]["labels"]
    check(selects(deploy["spec"]["selector"]["matchLabels"], labels), where + ": Deployment selector")

    svc = find(docs, "Service", "accel")
    sports = {p["name"]: (p["port"], p["targetPort"]) for p in svc.get("spec", {}).get("ports", [])}
    check(sports.get("http") == (8000, "http") and sports.get("grpc") == (8001, "grpc"),
          "%s: Service ports %s" % (where, sports))
    check(selects(svc["spec"]["selector"], labels), where + ": Service selects no accel pod")
    pdb = find(docs, "PodDisruptionBudget", "accel")
    check(selects(pdb.get("spec", {}).get("selector", {}).get("matchLabels", {"x": "y"}), labels),
          where + ": PodDisruptionBudget selects no accel pod")
    hpa = find(docs, "HorizontalPodAutoscaler", "accel")
    target = hpa.get("spec", {}).get("scaleTargetRef", {})
    check(target.get("kind") == "Deployment" and target.get("name") == "accel", "%s: HPA targets %s" % (where, target))
    metrics = [m.get("resource", {}).get("name") for m in hpa.get("spec", {}).get("metrics", [])]
    check("cpu" in metrics, "%s: HPA metrics %s" % (where, metrics))
    mon = find(docs, "ServiceMonitor", "accel")
    endpoints = mon.get("spec", {}).get("endpoints", [])
    check(any(e.get("port") == "http" and e.get("path") == "/metrics" for e in endpoints),
          "%s: ServiceMonitor endpoints %s" % (where, endpoints))
    check(selects(mon.get("spec", {}).get("selector", {}).get("matchLabels", {"x": "y"}), svc["metadata"]["labels"]),
          where + ": ServiceMonitor selects no accel Service")
    redis = find(docs, "Deployment", "accel-redis")
    redis_svc = find(docs, "Service", "accel-redis")
    rports = [p["port"] for p in redis_svc.get("spec", {}).get("ports", [])]
    check(rports == [6379], "%s: Redis Service ports %s" % (where, rports))
    check(selects(redis_svc["spec"]["selector"], redis["spec"]["template"]["metadata"]["labels"]),
          where + ": Redis Service selects no Redis pod")
    print("%s: %d objects, image %s, grace %ss > drain %ss + preStop %ss, GPU %s, mounts %s" %
          (variant, len(docs), c["image"], grace, drain, pause, gpu, sorted(mounts)))


def check_kserve(known):
    docs = render(os.path.join(K8S, "kserve"))
    runtime = find(docs, "ServingRuntime", "accel")
    isvc = find(docs, "InferenceService", "yolox-nano")
    spec = runtime.get("spec", {})
    check("v2" in spec.get("protocolVersions", []), "ServingRuntime protocolVersions %s" % spec.get("protocolVersions"))
    c = spec.get("containers", [{}])[0]
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    for name in env:
        check(name in known, "ServingRuntime: variable %s is not an `accel serve` setting" % name)
    port = env.get("PORT")
    check(port and int(port) == c["ports"][0]["containerPort"], "ServingRuntime: PORT %s vs ports %s" % (port, c.get("ports")))
    check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/v2/health/ready",
          "ServingRuntime: readiness probe %s" % c.get("readinessProbe"))
    model = isvc.get("spec", {}).get("predictor", {}).get("model", {})
    formats = [f["name"] for f in spec.get("supportedModelFormats", [])]
    check(model.get("runtime") == "accel" and model.get("modelFormat", {}).get("name") in formats,
          "InferenceService model %s vs formats %s" % (model, formats))
    check(model.get("protocolVersion") == "v2", "InferenceService protocolVersion %s" % model.get("protocolVersion"))
    check(os.path.isdir(os.path.join(SOURCE, "models", isvc["metadata"]["name"])),
          "InferenceService %s names no model of models/" % isvc["metadata"]["name"])
    print("kserve: ServingRuntime + InferenceService %s" % isvc["metadata"]["name"])


def main():
    if not shutil.which("kubectl"):
        fail("kubectl is not installed (scripts/setup --test installs Debian's kubernetes-client where none is)")
    if not shutil.which("yamllint"):
        fail("yamllint is not installed (scripts/setup --test installs it)")
    known = known_variables()
    check("DRAIN_TIMEOUT_S" in known, "`accel serve --help` does not list DRAIN_TIMEOUT_S")
    for variant in ("cpu", "nvidia", "hailo"):
        check_overlay(variant, known)
    check_kserve(known)
    lint = subprocess.run(["yamllint", "-s", "-c", os.path.join(K8S, ".yamllint"), K8S], capture_output=True,
                          text=True)
    check(lint.returncode == 0, "yamllint:\n" + lint.stdout + lint.stderr)
    if problems:
        fail("%d problem(s)" % len(problems))
    print("OK")


main()
