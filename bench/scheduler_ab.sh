#!/usr/bin/env bash
# Before/after comparison of scheduler_bench binaries in one run: the binaries (and timer-slack settings)
# take turns, scenario by scenario, for ROUNDS rounds, so that both see the same machine load; then the
# median of each row is printed with every run's ratio. See bench/README.md, "Scheduler (in-process)".
# Usage: bench/scheduler_ab.sh NAME=BINARY [NAME=BINARY...]
#   ROUNDS=5                       rounds (default 5)
#   SCENARIOS="homogeneous mixed"  scheduler_bench scenarios (default: these two)
#   SLACKS="default 1"             timer slack per run: "default" (Linux's 50 us) or nanoseconds
#   DURATION=3                     --duration_s of each run
#   LOG=file                       keeps every run's raw table lines
set -euo pipefail
[[ $# -ge 1 ]] || { sed -n '2,11p' "$0"; exit 2; }
rounds="${ROUNDS:-5}"
scenarios="${SCENARIOS:-homogeneous mixed}"
slacks="${SLACKS:-default 1}"
duration="${DURATION:-3}"
log="${LOG:-$(mktemp)}"
: > "$log"
echo "$(date -u +%FT%TZ) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); rounds $rounds" >&2
for round in $(seq "$rounds"); do
  for scenario in $scenarios; do
    for slack in $slacks; do
      for pair in "$@"; do
        name="${pair%%=*}" bin="${pair#*=}"
        args=(--scenario="$scenario" --duration_s="$duration")
        [[ "$slack" == default ]] || args+=(--timer_slack_ns="$slack")
        "$bin" "${args[@]}" | grep '^| [a-z]' | grep -v '^| scenario' |
          sed "s/^/$name slack=$slack round=$round /" >> "$log"
      done
    done
  done
  echo "round $round done, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
/usr/bin/python3 - "$log" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    head, _, table = line.partition("| ")
    name, slack, _ = head.split(" ", 2)
    cells = [c.strip() for c in table.split("|")]
    scenario, ratio, p99, notes = cells[0], float(cells[3]), float(cells[5]), cells[7]
    busy = [float(b) for b in re.findall(r"busy ([\d.]+)%", notes)]
    overrun = [float(o) for o in re.findall(r"overrun (-?[\d.]+) us", notes)]
    rows.setdefault((scenario, slack, name), []).append((ratio, p99, busy, overrun))
print("| scenario | timer slack | binary | median ratio | ratios of the runs | median p99 ms | "
      "device busy (median, per device) | batch overrun us (median, per device) |")
print("|---|---|---|---|---|---|---|---|")
for (scenario, slack, name), runs in sorted(rows.items()):
    ratios = [r[0] for r in runs]
    per_device = lambda k: " / ".join(
        "%.1f" % statistics.median(r[k][i] for r in runs) for i in range(min(len(r[k]) for r in runs)))
    print("| %s | %s | %s | **%.3f** | %s | %.1f | %s | %s |" % (
        scenario, "50 us (default)" if slack == "slack=default" else slack.split("=")[1] + " ns", name,
        statistics.median(ratios), " ".join("%.3f" % r for r in ratios),
        statistics.median(r[1] for r in runs), per_device(2), per_device(3)))
PY
