// Not a unit test: a server with a trivial handler to point wrk at. Disabled by default; run with
//   ACCEL_HTTP_BENCH_SECONDS=15 ACCEL_HTTP_BENCH_PORT=18080 ACCEL_HTTP_BENCH_THREADS=2
//     http_tests --gtest_also_run_disabled_tests --gtest_filter='*ServeForWrk*'
//   wrk -t2 -c64 -d10s http://127.0.0.1:18080/
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "api/http_server.h"

namespace accel {
namespace {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

TEST(HttpServerBench, DISABLED_ServeForWrk) {
  HttpServer::Options options;
  options.host = "127.0.0.1";
  options.port = EnvInt("ACCEL_HTTP_BENCH_PORT", 18080);
  options.io_threads = EnvInt("ACCEL_HTTP_BENCH_THREADS", 0);
  HttpServer server(options, [](HttpRequest&&, HttpResponder responder) {
    HttpResponse response;
    response.body = R"({"success":true})";
    responder(std::move(response));
  });
  ASSERT_TRUE(server.Start().ok());
  std::printf("serving on port %d\n", server.port());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(EnvInt("ACCEL_HTTP_BENCH_SECONDS", 15)));
}

}  // namespace
}  // namespace accel
