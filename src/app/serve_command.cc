// `accel serve`: builds the Service (src/app/service.h) and serves until SIGINT/SIGTERM.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <thread>

#include "app/app_config.h"
#include "app/commands.h"
#include "app/service.h"
#include "core/logging.h"

namespace accel {
namespace {

// How long the stop after a drain may take before the process exits regardless.
constexpr int kStopGraceSeconds = 10;

}  // namespace

int RunServeCommand(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << ServeUsage();
      return 0;
    }
  auto parsed = ParseServeConfig(args);
  if (!parsed.ok()) {
    std::cerr << "accel serve: " << parsed.status().message() << "\n";
    return 2;
  }
  const ServeConfig config = std::move(parsed).value();
  LogLevel level;
  if (!ParseLogLevel(config.log_level, &level)) {
    std::cerr << "accel serve: LOG_LEVEL must be debug, info, warn or error\n";
    return 2;
  }
  SetLogLevel(level);

  // Block the stop signals in every thread; the main thread waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // Every connection and model file takes a descriptor; the soft limit (often 1024) is raised to the hard
  // one, as servers do, so that the HTTP connection cap derived from it is not needlessly low.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 1 << 20);
    setrlimit(RLIMIT_NOFILE, &files);
  }

  ACCEL_LOG(kInfo, "serve") << "accel " << ACCEL_VERSION << " starting; models from " << config.models_dir;
  auto service = Service::Create(config);
  if (!service.ok()) {
    std::cerr << "accel serve: " << service.status().message() << "\n";
    return 2;
  }
  // A port that cannot be bound (HTTP, gRPC or zmq) is fatal.
  if (Status s = (*service)->StartFrontEnds(); !s.ok()) {
    ACCEL_LOG(kError, "serve") << s.message();
    return 1;
  }
  ACCEL_LOG(kInfo, "serve") << "listening on " << (config.tls_cert_file.empty() ? "http://" : "https://")
                            << config.host << ":" << (*service)->http_port()
                            << " (dashboard /, seed API /ai/*, DeepStack / CodeProject.AI /v1/vision/*)";

  int received = 0;
  sigwait(&signals, &received);
  if (config.drain_timeout_s == 0) {
    ACCEL_LOG(kInfo, "serve") << "signal " << received << " received, stopping";
    (*service)->Stop();
    ACCEL_LOG(kInfo, "serve") << "stopped";
    return 0;
  }
  // Graceful stop on its own thread, so that this thread keeps listening: a second signal exits at once
  // (an operator who does not want to wait), and a stop that overruns its bound exits too.
  ACCEL_LOG(kInfo, "serve") << "signal " << received << " received, draining (up to "
                            << config.drain_timeout_s << " s; a second signal exits at once)";
  std::atomic<bool> done{false};
  std::thread stopper([&service, &done, &config] {
    (*service)->Drain(std::chrono::seconds(config.drain_timeout_s));
    (*service)->Stop();
    done.store(true);
  });
  // Stop after the drain is bounded (front ends 2 s, engines by their own timeouts); this is the backstop
  // that keeps the exit bounded whatever happens.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(config.drain_timeout_s) +
                       std::chrono::seconds(kStopGraceSeconds);
  const timespec tick{0, 50'000'000};
  while (!done.load()) {
    const int again = sigtimedwait(&signals, nullptr, &tick);
    if (again > 0) {
      ACCEL_LOG(kWarn, "serve") << "signal " << again << " received while draining, exiting now";
      std::_Exit(128 + again);
    }
    if (std::chrono::steady_clock::now() > give_up) {
      ACCEL_LOG(kError, "serve") << "stop did not finish " << kStopGraceSeconds
                                 << " s after the drain timeout, exiting now";
      std::_Exit(1);
    }
  }
  stopper.join();
  ACCEL_LOG(kInfo, "serve") << "stopped";
  return 0;
}

}  // namespace accel
