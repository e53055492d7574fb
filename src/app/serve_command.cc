// `accel serve`: builds the Service (src/app/service.h) and serves until SIGINT/SIGTERM.
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <iostream>

#include "app/app_config.h"
#include "app/commands.h"
#include "app/service.h"
#include "core/logging.h"

namespace accel {

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
  ACCEL_LOG(kInfo, "serve") << "signal " << received << " received, stopping";
  (*service)->Stop();
  ACCEL_LOG(kInfo, "serve") << "stopped";
  return 0;
}

}  // namespace accel
