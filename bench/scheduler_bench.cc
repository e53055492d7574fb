// scheduler_bench: measures the scheduler in-process on simulated devices (no HTTP, no model): placement
// on equal and mixed devices, dynamic batching, failover on fail_after / hang_after, and overload.
// Every device here is a simulation (sim engine: latency slept on its worker thread, zero outputs); the
// figures measure the scheduler's overhead and policies, not any accelerator.
//
// Closed-loop rows also say where each device's time went, from the scheduler's batch observer: the share
// of the window it had a batch running ("busy"; the rest it sat idle, which the scheduler should prevent
// while work is queued), and how much longer than its nominal `ms + per_item_ms x n` a simulated batch took
// ("overrun": the sim's timer thread waking late, plus the submit and completion paths; it is device time
// the scheduler cannot win back while the engine takes one batch at a time).
//
//   scheduler_bench --all [--repeat=3] [--duration_s=3] [--timer_slack_ns=N] [--in_flight=N]
//   scheduler_bench --scenario=mixed
//
// --timer_slack_ns sets the process's timer slack (prctl PR_SET_TIMERSLACK) before any thread starts, so
// the sim engines' timer threads inherit it; Linux's default is 50000 ns, by which a timer may fire late.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/prctl.h>

#include "core/logging.h"
#include "engines/sim/sim_engine.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

using Clk = std::chrono::steady_clock;
using std::chrono::milliseconds;

double g_duration_s = 3.0;
// --in_flight=N: batches each simulated device accepts at once (0 keeps each spec's own).
int g_in_flight = 0;
constexpr double kWarmupS = 0.5;

ModelConfig DummyModel(int max_batch, int delay_us) {
  ModelConfig m;
  m.name = "dummy";
  m.input.width = 8;
  m.input.height = 8;
  m.input.channels = 3;
  m.outputs.push_back(OutputSpec{"out", {10}, DType::kFloat32});
  m.max_batch = max_batch;
  m.max_queue_delay_us = delay_us;
  return m;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(std::ceil(p / 100.0 * v.size())) - (p > 0));
  return v[i];
}

// Everything one run records. Latencies are kept only for requests that finished inside the window.
struct Recorder {
  std::mutex mu;
  Clk::time_point window_start, window_end;
  std::vector<double> latencies_ms;  // successful requests in the window
  std::vector<double> reject_ms;     // time to a RESOURCE_EXHAUSTED answer
  long ok_in_window = 0;
  long errors = 0;    // any error other than RESOURCE_EXHAUSTED (whole run)
  long rejected = 0;  // RESOURCE_EXHAUSTED (whole run)
  long total_ok = 0;
  double max_ms = 0;      // over every successful request of the run
  double max_lag_ms = 0;  // open loop: how late the generator sent its latest request
  std::map<std::string, long> per_device;
  std::string first_error;
  // Batches that ended in the window, per device: their count, summed time and summed nominal time.
  struct DeviceTime {
    long batches = 0;
    double busy_ms = 0;
    double nominal_ms = 0;
  };
  std::map<std::string, DeviceTime> device_time;
  std::map<std::string, SimDeviceSpec> specs;  // by device id, for the nominal batch time

  // Scheduler observer (engine threads).
  void RecordBatch(const BatchObservation& b) {
    const Clk::time_point t = Clk::now();
    std::lock_guard lock(mu);
    if (t < window_start || t >= window_end) return;
    auto spec = specs.find(b.device->id);
    if (spec == specs.end()) return;
    DeviceTime& d = device_time[b.device->id];
    ++d.batches;
    d.busy_ms += b.compute_ms;
    d.nominal_ms += spec->second.ms + spec->second.per_item_ms * b.batch_size;
  }

  void Record(Clk::time_point t0, const StatusOr<InferenceResult>& r) {
    const Clk::time_point t1 = Clk::now();
    const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    std::lock_guard lock(mu);
    if (r.ok()) {
      ++total_ok;
      max_ms = std::max(max_ms, ms);
      ++per_device[r->device_id];
      if (t1 >= window_start && t1 < window_end) {
        ++ok_in_window;
        latencies_ms.push_back(ms);
      }
    } else if (r.status().code() == StatusCode::kResourceExhausted) {
      ++rejected;
      reject_ms.push_back(ms);
    } else {
      ++errors;
      if (first_error.empty()) first_error = r.status().ToString();
    }
  }
};

std::unique_ptr<Scheduler> MakeScheduler(SchedulerOptions o, const std::vector<std::string>& sims,
                                         Recorder& rec, int max_batch = 1, int delay_us = 0) {
  o.observer.on_batch = [&rec](const BatchObservation& b) { rec.RecordBatch(b); };
  std::vector<SimDeviceSpec> parsed;
  for (const std::string& spec : sims) {
    StatusOr<SimDeviceSpec> p = ParseSimDeviceSpec(spec);
    if (!p.ok()) {
      std::fprintf(stderr, "bad sim spec %s: %s\n", spec.c_str(), p.status().ToString().c_str());
      std::exit(2);
    }
    if (g_in_flight > 0) p->in_flight = g_in_flight;
    rec.specs[SimDeviceInfo(*p).id] = *p;
    parsed.push_back(*p);
  }
  auto s = std::make_unique<Scheduler>(o);
  for (const SimDeviceSpec& p : parsed) {
    if (!s->AddDevice(MakeSimEngine(p)).ok()) std::exit(2);
  }
  Status st = s->LoadModel(DummyModel(max_batch, delay_us));
  if (!st.ok()) {
    std::fprintf(stderr, "load: %s\n", st.ToString().c_str());
    std::exit(2);
  }
  return s;
}

std::shared_ptr<const Tensor> Input() {
  static std::shared_ptr<const Tensor> input = [] {
    auto t = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{1, 3, 8, 8});
    t->Fill(0);
    return std::shared_ptr<const Tensor>(t);
  }();
  return input;
}

// `concurrency` requests always outstanding: each completion issues the next one.
void ClosedLoop(Scheduler& s, int concurrency, Recorder& rec) {
  std::atomic<bool> stop{false};
  std::atomic<int> outstanding{0};
  std::mutex mu;
  std::condition_variable cv;
  InferenceOptions opts;
  opts.model = "dummy";
  std::function<void()> issue = [&] {
    ++outstanding;
    const Clk::time_point t0 = Clk::now();
    s.Submit(opts, Input(), [&, t0](StatusOr<InferenceResult> r) {
      rec.Record(t0, r);
      --outstanding;
      // Only successes re-issue inline; an inline rejection would otherwise recurse.
      if (r.ok() && !stop) issue();
      cv.notify_all();
    });
  };
  const Clk::time_point start = Clk::now();
  rec.window_start =
      start + std::chrono::duration_cast<Clk::duration>(std::chrono::duration<double>(kWarmupS));
  rec.window_end = rec.window_start +
                   std::chrono::duration_cast<Clk::duration>(std::chrono::duration<double>(g_duration_s));
  for (int i = 0; i < concurrency; ++i) issue();
  std::unique_lock lock(mu);
  while (Clk::now() < rec.window_end) {
    cv.wait_for(lock, milliseconds(5));
    lock.unlock();
    while (outstanding < concurrency && Clk::now() < rec.window_end) issue();  // refill after errors
    lock.lock();
  }
  stop = true;
  cv.wait_for(lock, milliseconds(3000), [&] { return outstanding == 0; });
}

// Requests at a fixed rate, whatever the answers. `during` runs on this thread every ~1 ms with the
// elapsed seconds (fault monitors).
void OpenLoop(Scheduler& s, double rate, double seconds, Recorder& rec,
              const std::function<void(double)>& during = {}) {
  InferenceOptions opts;
  opts.model = "dummy";
  std::atomic<int> outstanding{0};
  const Clk::time_point start = Clk::now();
  rec.window_start = start;
  rec.window_end = start + std::chrono::duration_cast<Clk::duration>(std::chrono::duration<double>(seconds));
  const auto interval = std::chrono::duration_cast<Clk::duration>(std::chrono::duration<double>(1.0 / rate));
  Clk::time_point next = start;
  Clk::time_point next_monitor = start;
  while (next < rec.window_end) {
    const Clk::time_point now = Clk::now();
    if (during && now >= next_monitor) {
      during(std::chrono::duration<double>(now - start).count());
      next_monitor = now + milliseconds(1);
    }
    if (now < next) {
      std::this_thread::sleep_until(std::min(next, during ? next_monitor : next));
      continue;
    }
    rec.max_lag_ms = std::max(rec.max_lag_ms, std::chrono::duration<double, std::milli>(now - next).count());
    next += interval;
    ++outstanding;
    const Clk::time_point t0 = Clk::now();
    s.Submit(opts, Input(), [&, t0](StatusOr<InferenceResult> r) {
      rec.Record(t0, r);
      --outstanding;
    });
  }
  const Clk::time_point drain_until = Clk::now() + milliseconds(5000);
  while (outstanding > 0 && Clk::now() < drain_until) {
    if (during) during(std::chrono::duration<double>(Clk::now() - start).count());
    std::this_thread::sleep_for(milliseconds(1));
  }
}

struct Row {
  std::string scenario;
  double capacity = 0;
  double achieved = 0;
  double p50 = 0, p99 = 0;
  long errors = 0;
  std::string notes;
  double ratio() const { return capacity > 0 ? achieved / capacity : 0; }
};

Row Summarise(const std::string& name, double capacity, Recorder& rec, double window_s) {
  Row row;
  row.scenario = name;
  row.capacity = capacity;
  row.achieved = rec.ok_in_window / window_s;
  row.p50 = Percentile(rec.latencies_ms, 50);
  row.p99 = Percentile(rec.latencies_ms, 99);
  row.errors = rec.errors;
  if (!rec.first_error.empty()) row.notes += "first error: " + rec.first_error + "; ";
  if (rec.max_lag_ms > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "generator max lag %.1f ms; ", rec.max_lag_ms);
    row.notes += buf;
  }
  return row;
}

std::string PerDevice(const Recorder& rec) {
  std::string s;
  for (const auto& [id, n] : rec.per_device) s += (s.empty() ? "" : " ") + id + "=" + std::to_string(n);
  return s;
}

// "busy 99.1% overrun 118 us" per device: share of the window with a batch running, and mean time per
// batch over the nominal one.
std::string DeviceTimes(const Recorder& rec, double window_s) {
  std::string s;
  for (const auto& [id, d] : rec.device_time) {
    if (d.batches == 0) continue;
    char buf[128];
    std::snprintf(buf, sizeof buf, "%s%s busy %.1f%% overrun %.0f us", s.empty() ? "" : ", ", id.c_str(),
                  100.0 * d.busy_ms / (window_s * 1000), 1000.0 * (d.busy_ms - d.nominal_ms) / d.batches);
    s += buf;
  }
  return s;
}

SchedulerOptions BaseOptions() {
  SchedulerOptions o;
  o.queue_capacity = 256;
  return o;
}

std::vector<Row> Homogeneous() {
  Recorder rec;
  auto s =
      MakeScheduler(BaseOptions(), {"name=s0,ms=5", "name=s1,ms=5", "name=s2,ms=5", "name=s3,ms=5"}, rec);
  ClosedLoop(*s, 16, rec);
  Row row = Summarise("homogeneous 4x ms=5 (auto, c=16)", 800, rec, g_duration_s);
  row.notes += PerDevice(rec) + "; " + DeviceTimes(rec, g_duration_s);
  return {row};
}

std::vector<Row> Mixed() {
  std::vector<Row> rows;
  for (bool rr : {false, true}) {
    SchedulerOptions o = BaseOptions();
    o.round_robin = rr;
    Recorder rec;
    auto s = MakeScheduler(o, {"name=fast,ms=2", "name=slow,ms=10"}, rec);
    ClosedLoop(*s, 16, rec);
    Row row = Summarise(rr ? "mixed ms=2+ms=10 (round robin, c=16)" : "mixed ms=2+ms=10 (auto, c=16)", 600,
                        rec, g_duration_s);
    row.notes += PerDevice(rec) + "; " + DeviceTimes(rec, g_duration_s);
    rows.push_back(row);
  }
  return rows;
}

std::vector<Row> Batching() {
  Recorder rec;
  auto s = MakeScheduler(BaseOptions(), {"name=b,ms=4,per_item_ms=0.25,max_batch=16"}, rec, 16, 2000);
  ClosedLoop(*s, 64, rec);
  Row row = Summarise("batching ms=4+0.25/item b=16 (c=64)", 2000, rec, g_duration_s);
  const std::vector<DeviceStatus> d = s->Devices();
  if (!d.empty() && d[0].stats.batches_executed > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "mean batch %.1f",
                  static_cast<double>(d[0].stats.items_executed) / d[0].stats.batches_executed);
    row.notes += buf;
  }
  row.notes += "; " + DeviceTimes(rec, g_duration_s);
  return {row};
}

// Two devices under 200 req/s; a (ms=2) is the faster, so it takes most of the load until `fault` hits it
// partway through and b (ms=3) has to take everything. (With equal devices the learnt estimates decide which
// one idles, and the fault, counted in calls on a, may never come.)
Row Failover(const std::string& name, const std::string& fault, Micros execution_timeout) {
  SchedulerOptions o = BaseOptions();
  o.probe_backoff = Micros(250'000);
  o.probe_backoff_max = Micros(1'000'000);
  o.execution_timeout = execution_timeout;
  Recorder rec;
  auto s = MakeScheduler(o, {"name=a,ms=2," + fault, "name=b,ms=3"}, rec);
  double t_fault = -1, t_out = -1, t_back = -1;
  uint64_t completed_at_back = 0, completed_end = 0;
  const double seconds = std::max(6.0, g_duration_s * 2);
  OpenLoop(*s, 200, seconds, rec, [&](double t) {
    for (const DeviceStatus& d : s->Devices()) {
      if (d.info.id != "sim:a") continue;
      if (t_fault < 0 && d.health.state == HealthState::kFailed) t_fault = t;
      if (t_out < 0 && d.ejected) t_out = t;
      if (t_out >= 0 && t_back < 0 && !d.ejected) {
        t_back = t;
        completed_at_back = d.completed;
      }
      completed_end = d.completed;
    }
  });
  Row row = Summarise(name, 200, rec, seconds);
  row.capacity = 200;  // offered rate; capacity of the two devices is 833/s
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "fault at %.2f s, out %.0f ms after fault, rejoined %s (%.2f s), served %lu after rejoin; "
                "max latency %.1f ms",
                t_fault, t_out >= 0 && t_fault >= 0 ? (t_out - t_fault) * 1000 : -1.0,
                t_back >= 0 ? "yes" : "NO", t_back,
                static_cast<unsigned long>(completed_end - completed_at_back), rec.max_ms);
  row.notes += buf;
  return row;
}

std::vector<Row> FailAfter() {
  // a takes most of the 200 req/s, so call 250 falls between 1.25 s and 2.5 s into the 6 s run; it recovers
  // 1.5 s after the fault.
  return {
      Failover("failover fail_after (200 req/s)", "fail_after=250,recover_after_ms=1500", Micros(2'000'000))};
}

std::vector<Row> Hang() {
  return {Failover("failover hang_after, timeout 200 ms", "hang_after=250,recover_after_ms=1500",
                   Micros(200'000))};
}

std::vector<Row> Overload() {
  std::vector<Row> rows;
  SchedulerOptions o = BaseOptions();
  o.queue_capacity = 4;
  const std::vector<std::string> sims = {"name=a,ms=5", "name=b,ms=5"};
  double normal_p99 = 0;
  for (double factor : {0.5, 2.0}) {
    Recorder rec;
    auto s = MakeScheduler(o, sims, rec);
    OpenLoop(*s, 400 * factor, g_duration_s, rec);
    Row row = Summarise(factor < 1 ? "overload baseline at 0.5x (200 req/s)" : "overload at 2x (800 req/s)",
                        400, rec, g_duration_s);
    char buf[200];
    if (factor < 1) {
      normal_p99 = row.p99;
      std::snprintf(buf, sizeof buf, "503s %ld", rec.rejected);
    } else {
      std::snprintf(buf, sizeof buf,
                    "503s %ld (%.0f%% of offered), time-to-503 p50 %.3f ms p99 %.3f ms; "
                    "accepted p99 %.1f ms vs %.1f ms at 0.5x; queue cap 4/device",
                    rec.rejected, 100.0 * rec.rejected / (800 * g_duration_s), Percentile(rec.reject_ms, 50),
                    Percentile(rec.reject_ms, 99), row.p99, normal_p99);
    }
    row.notes += buf;
    rows.push_back(row);
  }
  return rows;
}

void Print(const Row& r) {
  std::printf("| %-40s | %8.0f | %8.1f | %5.3f | %6.2f | %7.2f | %4ld | %s |\n", r.scenario.c_str(),
              r.capacity, r.achieved, r.ratio(), r.p50, r.p99, r.errors, r.notes.c_str());
  std::fflush(stdout);
}

}  // namespace
}  // namespace accel

int main(int argc, char** argv) {
  using namespace accel;
  std::string scenario;
  int repeat = 1;
  long timer_slack_ns = -1;  // -1: leave the process's (Linux default 50 us)
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--all") {
      scenario = "all";
    } else if (a.rfind("--scenario=", 0) == 0) {
      scenario = a.substr(11);
    } else if (a.rfind("--repeat=", 0) == 0) {
      repeat = std::max(1, std::atoi(a.c_str() + 9));
    } else if (a.rfind("--duration_s=", 0) == 0) {
      g_duration_s = std::max(0.5, std::atof(a.c_str() + 13));
    } else if (a.rfind("--timer_slack_ns=", 0) == 0) {
      timer_slack_ns = std::max(1L, std::atol(a.c_str() + 17));
    } else if (a.rfind("--in_flight=", 0) == 0) {
      g_in_flight = std::clamp(std::atoi(a.c_str() + 12), 1, 64);
    } else {
      std::fprintf(
          stderr,
          "usage: scheduler_bench --all | --scenario=homogeneous|mixed|batching|failover|hang|overload"
          " [--repeat=N] [--duration_s=S] [--timer_slack_ns=N] [--in_flight=N]\n");
      return 2;
    }
  }
  if (scenario.empty()) scenario = "all";
  // Before any thread exists, so that every thread (sim timers, device workers) inherits it.
  if (timer_slack_ns > 0 &&
      prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(timer_slack_ns), 0, 0, 0) != 0) {
    std::perror("prctl(PR_SET_TIMERSLACK)");
    return 2;
  }
  const long slack_now = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  if (!std::getenv("LOG_LEVEL")) SetLogLevel(LogLevel::kError);  // ejections would interleave the table
  const std::vector<std::pair<std::string, std::vector<Row> (*)()>> all = {
      {"homogeneous", Homogeneous}, {"mixed", Mixed}, {"batching", Batching},
      {"failover", FailAfter},      {"hang", Hang},   {"overload", Overload}};
  std::string loadavg = "?";
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    char buf[64] = {0};
    if (std::fgets(buf, sizeof buf, f)) loadavg = std::string(buf, strcspn(buf, "\n"));
    std::fclose(f);
  }
  std::printf(
      "All devices are SIMULATED (sim engine). repeat=%d, window %.1f s (failover: 6 s open loop), "
      "%u hardware threads, timer slack %ld ns, /proc/loadavg at start: %s\n",
      repeat, g_duration_s, std::thread::hardware_concurrency(), slack_now, loadavg.c_str());
  std::printf("| %-40s | %8s | %8s | %5s | %6s | %7s | %4s | %s |\n", "scenario", "target/s", "achieved",
              "ratio", "p50 ms", "p99 ms", "errs", "notes");
  std::printf("|%s|----------|----------|-------|--------|---------|------|-------|\n",
              std::string(42, '-').c_str());
  bool found = false;
  for (const auto& [name, fn] : all) {
    if (scenario != "all" && scenario != name) continue;
    found = true;
    // Median of `repeat` runs, by the first row's ratio; the other runs' ratios are listed in the notes.
    std::vector<std::vector<Row>> runs;
    for (int i = 0; i < repeat; ++i) runs.push_back(fn());
    std::vector<size_t> order(runs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return runs[a][0].ratio() < runs[b][0].ratio(); });
    std::vector<Row> median = runs[order[order.size() / 2]];
    if (repeat > 1) {
      for (size_t k = 0; k < median.size(); ++k) {
        std::string all_ratios;
        for (const auto& run : runs) {
          char buf[16];
          std::snprintf(buf, sizeof buf, "%s%.3f", all_ratios.empty() ? "" : "/", run[k].ratio());
          all_ratios += buf;
        }
        median[k].notes += "; ratios of runs " + all_ratios;
      }
    }
    for (const Row& r : median) Print(r);
  }
  if (!found) {
    std::fprintf(stderr, "unknown scenario '%s'\n", scenario.c_str());
    return 2;
  }
  return 0;
}
