// `accel bench --api kserve-http|grpc|zmq`: one short bench step per protocol against in-process servers
// (KServe HTTP and gRPC front ends, Frigate's zmq detector) on a SIMULATED device, so that the protocols'
// framing is checked end to end without inference time. The sim device answers zero tensors (no
// detections), which every front end turns into a valid, empty answer.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "api/http_router.h"
#include "api/http_server.h"
#include "api/kserve_common.h"
#include "api/kserve_grpc_server.h"
#include "api/kserve_http_api.h"
#include "api/zmq_detector_server.h"
#include "app/loadgen_command.h"
#include "app/loadgen_extra_protocols.h"
#include "core/model_config.h"
#include "core/thread_pool.h"
#include "engines/sim/sim_engine.h"
#include "pipeline/detection_pipeline.h"
#include "protocol_test_core.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

std::string ReadImage() {
  std::ifstream in(std::string(ACCEL_SHARED_DIR) + "/testdata/images/000000000139.jpg", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Servers {
  ProtocolTestCore core;
  HttpRouter router;
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<KServeGrpcServer> grpc;
  std::unique_ptr<ZmqDetectorServer> zmq;

  Status Start() {
    SimDeviceSpec spec;
    spec.name = "bench-test";
    spec.ms = 1;
    ACCEL_RETURN_IF_ERROR(core.Start(MakeSimEngine(spec)));
    RegisterKServeRoutes(router, core.context(), core.backend());
    HttpServer::Options http_options;
    http_options.host = "127.0.0.1";
    http_options.port = 0;
    http_options.io_threads = 1;
    http = std::make_unique<HttpServer>(http_options, router.AsHandler());
    ACCEL_RETURN_IF_ERROR(http->Start());
    KServeGrpcServer::Options grpc_options;
    grpc_options.host = "127.0.0.1";
    grpc_options.port = 0;
    grpc = std::make_unique<KServeGrpcServer>(core.context(), core.backend(), grpc_options);
    ACCEL_RETURN_IF_ERROR(grpc->Start());
    ZmqDetectorServer::Options zmq_options;
    zmq_options.endpoint = "tcp://127.0.0.1:0";
    zmq = std::make_unique<ZmqDetectorServer>(core.context(), zmq_options);
    return zmq->Start();
  }
  ~Servers() {
    if (zmq) zmq->Stop();
    if (grpc) grpc->Stop();
    if (http) http->Stop();
  }
};

Servers* g_servers = nullptr;

class BenchProtocolsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RegisterExtraBenchProtocols();
    g_servers = new Servers();
    if (Status s = g_servers->Start(); !s.ok()) {
      delete g_servers;
      g_servers = nullptr;
      FAIL() << "servers did not start: " << s.ToString();
    }
  }
  static void TearDownTestSuite() {
    delete g_servers;
    g_servers = nullptr;
  }
  void SetUp() override { ASSERT_NE(g_servers, nullptr); }

  static BenchConfig Config(const std::string& api) {
    BenchConfig config;
    config.api = api;
    config.url = "http://127.0.0.1:" + std::to_string(g_servers->http->port());
    config.protocol_options.grpc_url = "127.0.0.1:" + std::to_string(g_servers->grpc->port());
    config.protocol_options.zmq_endpoint = g_servers->zmq->bound_endpoint();
    config.protocol_options.models_dir = std::string(ACCEL_SOURCE_DIR) + "/models";
    config.inputs = {ReadImage()};
    config.duration_s = 0.3;
    config.timeout_s = 5;
    config.progress = false;
    return config;
  }

  // A model-native request moves 2 MB in and 1.2 MB out: on a loaded 2-core machine (or under ASan) one can
  // take longer than the default 0.3 s window, which would then end with nothing completed.
  static BenchConfig NativeConfig(const std::string& api) {
    BenchConfig config = Config(api);
    config.protocol_options.model_native = true;
    config.duration_s = 2;
    return config;
  }
};

void ExpectAllOk(const BenchStepResult& r) {
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_GT(r.ok, 0u);
  EXPECT_EQ(r.errors, 0u) << r.first_error;
  EXPECT_EQ(r.codes.count(200), 1u);
  EXPECT_GT(r.latency_p50_ms, 0);
}

TEST_F(BenchProtocolsTest, KServeHttpDetect) { ExpectAllOk(RunBenchStep(Config("kserve-http"))); }

TEST_F(BenchProtocolsTest, KServeHttpModelNative) { ExpectAllOk(RunBenchStep(NativeConfig("kserve-http"))); }

TEST_F(BenchProtocolsTest, GrpcDetect) { ExpectAllOk(RunBenchStep(Config("grpc"))); }

TEST_F(BenchProtocolsTest, GrpcModelNative) { ExpectAllOk(RunBenchStep(NativeConfig("grpc"))); }

TEST_F(BenchProtocolsTest, Zmq) { ExpectAllOk(RunBenchStep(Config("zmq"))); }

TEST_F(BenchProtocolsTest, ErrorsAreCounted) {
  BenchConfig grpc = Config("grpc");
  grpc.model = "no-such-model";
  BenchStepResult r = RunBenchStep(grpc);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.ok, 0u);
  EXPECT_GT(r.errors, 0u);
  EXPECT_NE(r.first_error.find("no-such-model"), std::string::npos) << r.first_error;
  EXPECT_EQ(r.codes.count(5), 1u);  // NOT_FOUND

  BenchConfig http = Config("kserve-http");
  http.model = "no-such-model";
  r = RunBenchStep(http);
  EXPECT_EQ(r.ok, 0u);
  EXPECT_EQ(r.codes.count(404), 1u);
}

TEST_F(BenchProtocolsTest, UnknownApiNamesKnownOnes) {
  auto made = MakeBenchProtocol("carrier-pigeon", BenchProtocolOptions{});
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("kserve-http"), std::string::npos);
  EXPECT_NE(made.status().message().find("grpc"), std::string::npos);
  EXPECT_NE(made.status().message().find("zmq"), std::string::npos);
}

}  // namespace
}  // namespace accel
