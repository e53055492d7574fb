// KServeGrpcServer on a Unix domain socket (Options::listen_addresses, `accel serve --grpc-listen`): a
// raw-tensor ModelInfer through the generated stub over "unix:<temp dir>/grpc.sock" must give the same
// answer as over the server's TCP port, with the real CPU engine on the default model.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "api/kserve_common.h"
#include "api/kserve_grpc_server.h"
#include "core/model_config.h"
#include "engines/cpu/cpu_engine.h"
#include "grpc_service.grpc.pb.h"
#include "protocol_test_core.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

namespace fs = std::filesystem;

// A private directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "accel_grpc_unix.XXXXXX").string();
    if (mkdtemp(pattern.data())) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class KServeGrpcUnixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp failed";
    auto engine = MakeTestCpuEngine();
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    Status started = core_.Start(std::move(engine).value());
    ASSERT_TRUE(started.ok()) << started.ToString();
    ASSERT_EQ(core_.model.input.layout, TensorLayout::kNCHW);
    ASSERT_EQ(core_.model.input.dtype, DType::kFloat32);
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  std::string SocketAddress() const { return "unix:" + dir_.path() + "/grpc.sock"; }

  // A raw FP32 NCHW request for the model's input (one item), filled with a non-constant pattern.
  inference::ModelInferRequest RawRequest() const {
    const InputSpec& spec = core_.model.input;
    inference::ModelInferRequest request;
    request.set_model_name(core_.model.name);
    auto* in = request.add_inputs();
    in->set_name(spec.name);
    in->set_datatype("FP32");
    for (int64_t d : {1, spec.channels, spec.height, spec.width}) in->add_shape(d);
    const size_t count = static_cast<size_t>(spec.channels) * spec.height * spec.width;
    std::vector<float> values(count);
    for (size_t i = 0; i < count; ++i) values[i] = static_cast<float>((i * 37) % 255);
    request.add_raw_input_contents(std::string(reinterpret_cast<const char*>(values.data()), count * 4));
    return request;
  }

  static std::vector<float> Floats(const std::string& raw) {
    std::vector<float> out(raw.size() / 4);
    std::memcpy(out.data(), raw.data(), out.size() * 4);
    return out;
  }

  TempDir dir_;
  ProtocolTestCore core_;
  std::unique_ptr<KServeGrpcServer> server_;
};

TEST_F(KServeGrpcUnixTest, ModelInferOverUnixSocketMatchesTcp) {
  KServeGrpcServer::Options options{"127.0.0.1", 0};
  options.listen_addresses = {SocketAddress()};
  server_ = std::make_unique<KServeGrpcServer>(core_.context(), core_.backend(), options);
  ASSERT_TRUE(server_->Start().ok());
  ASSERT_GT(server_->port(), 0);
  EXPECT_TRUE(fs::is_socket(dir_.path() + "/grpc.sock"));

  const auto request = RawRequest();
  auto infer = [&](const std::string& target, inference::ModelInferResponse* response) {
    auto stub = inference::GRPCInferenceService::NewStub(
        grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub->ModelInfer(&context, request, response);
  };
  inference::ModelInferResponse over_unix, over_tcp;
  grpc::Status unix_status = infer(SocketAddress(), &over_unix);
  ASSERT_TRUE(unix_status.ok()) << unix_status.error_message();
  grpc::Status tcp_status = infer("127.0.0.1:" + std::to_string(server_->port()), &over_tcp);
  ASSERT_TRUE(tcp_status.ok()) << tcp_status.error_message();

  EXPECT_EQ(over_unix.model_name(), core_.model.name);
  ASSERT_EQ(over_unix.outputs_size(), static_cast<int>(core_.model.outputs.size()));
  ASSERT_EQ(over_unix.raw_output_contents_size(), over_unix.outputs_size());
  ASSERT_EQ(over_tcp.raw_output_contents_size(), over_unix.outputs_size());
  for (int i = 0; i < over_unix.outputs_size(); ++i) {
    const auto& out = over_unix.outputs(i);
    EXPECT_EQ(out.datatype(), "FP32");
    int64_t count = 1;
    for (int64_t d : out.shape()) count *= d;
    ASSERT_EQ(over_unix.raw_output_contents(i).size(), static_cast<size_t>(count) * 4) << out.name();
    const auto a = Floats(over_unix.raw_output_contents(i));
    const auto b = Floats(over_tcp.raw_output_contents(i));
    ASSERT_EQ(a.size(), b.size());
    size_t nonzero = 0, differ = 0;
    for (size_t j = 0; j < a.size(); ++j) {
      if (a[j] != 0) ++nonzero;
      if (std::fabs(a[j] - b[j]) > 1e-4f * (1 + std::fabs(b[j]))) ++differ;
    }
    EXPECT_GT(nonzero, 0u) << "the engine's output over the Unix socket is all zeros";
    EXPECT_EQ(differ, 0u) << "Unix-socket and TCP answers differ in " << differ << " of " << a.size();
  }
}

TEST_F(KServeGrpcUnixTest, UnixSocketOnlyWhenPortIsOff) {
  KServeGrpcServer::Options options{"127.0.0.1", -1};
  options.listen_addresses = {SocketAddress()};
  server_ = std::make_unique<KServeGrpcServer>(core_.context(), core_.backend(), options);
  ASSERT_TRUE(server_->Start().ok());
  EXPECT_EQ(server_->port(), 0);
  auto stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel(SocketAddress(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  inference::ServerLiveRequest live_request;
  inference::ServerLiveResponse live;
  grpc::Status status = stub->ServerLive(&context, live_request, &live);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(live.live());
}

TEST_F(KServeGrpcUnixTest, UnbindableAddressFailsStart) {
  KServeGrpcServer::Options options{"127.0.0.1", 0};
  options.listen_addresses = {"unix:" + dir_.path() + "/no/such/dir/grpc.sock"};
  server_ = std::make_unique<KServeGrpcServer>(core_.context(), core_.backend(), options);
  Status s = server_->Start();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();

  KServeGrpcServer nothing(core_.context(), core_.backend(), KServeGrpcServer::Options{"127.0.0.1", -1});
  EXPECT_EQ(nothing.Start().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace accel
