#include "app/loadgen_grpc_protocol.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "grpc_service.grpc.pb.h"

namespace accel {
namespace {

class GrpcBenchProtocol;

StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read " + flag + " file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class GrpcBenchClient : public BenchClient {
 public:
  GrpcBenchClient(const GrpcBenchProtocol& protocol, double timeout_s);
  BenchOutcome Send(size_t input_index) override;

 private:
  const GrpcBenchProtocol& protocol_;
  double timeout_s_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

class GrpcBenchProtocol : public BenchProtocol {
 public:
  explicit GrpcBenchProtocol(BenchProtocolOptions options) : options_(std::move(options)) {}
  std::string name() const override { return options_.model_native ? "grpc (model-native)" : "grpc"; }

  Status Prepare(const std::vector<std::string>& inputs) override {
    if (inputs.empty()) return InvalidArgument("no input images");
    if (options_.grpc_url.empty()) return InvalidArgument("no --grpc-url");
    if (options_.grpc_tls) {
      const BenchTlsFiles& files = options_.tls;
      if (files.cert_file.empty() != files.key_file.empty())
        return InvalidArgument("a TLS client certificate needs its key (--tls-cert with --tls-key)");
      // Read once: every client's channel is built from the same PEM text. Empty roots: gRPC's default CAs.
      ACCEL_ASSIGN_OR_RETURN(tls_.pem_root_certs, ReadPem("--tls-ca", files.ca_file));
      ACCEL_ASSIGN_OR_RETURN(tls_.pem_cert_chain, ReadPem("--tls-cert", files.cert_file));
      ACCEL_ASSIGN_OR_RETURN(tls_.pem_private_key, ReadPem("--tls-key", files.key_file));
    }
    requests_.clear();
    const std::string model = BenchModelName(options_);
    for (const auto& input : inputs) {
      inference::ModelInferRequest& request = requests_.emplace_back();
      auto* tensor = request.add_inputs();
      if (options_.model_native) {
        ACCEL_ASSIGN_OR_RETURN(BenchNativeInput native, MakeBenchNativeInput(input, options_));
        request.set_model_name(model);
        tensor->set_name(native.name);
        tensor->set_datatype(native.datatype);
        for (int64_t d : native.shape) tensor->add_shape(d);
        request.add_raw_input_contents(std::move(native.bytes));
      } else {
        request.set_model_name(model + "-detect");
        tensor->set_name("image");
        tensor->set_datatype("BYTES");
        tensor->add_shape(1);
        std::string raw;
        const uint32_t n = static_cast<uint32_t>(input.size());
        for (int i = 0; i < 4; ++i) raw.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
        raw += input;
        request.add_raw_input_contents(std::move(raw));
      }
    }
    return Status::Ok();
  }

  std::unique_ptr<BenchClient> NewClient(const BenchTarget&, double timeout_s) const override {
    return std::make_unique<GrpcBenchClient>(*this, timeout_s);
  }

  const inference::ModelInferRequest& request(size_t i) const { return requests_[i % requests_.size()]; }
  const BenchProtocolOptions& options() const { return options_; }
  std::shared_ptr<grpc::ChannelCredentials> credentials() const {
    return options_.grpc_tls ? grpc::SslCredentials(tls_) : grpc::InsecureChannelCredentials();
  }

 private:
  BenchProtocolOptions options_;
  grpc::SslCredentialsOptions tls_;  // with grpc_tls, from Prepare
  std::vector<inference::ModelInferRequest> requests_;
};

GrpcBenchClient::GrpcBenchClient(const GrpcBenchProtocol& protocol, double timeout_s)
    : protocol_(protocol), timeout_s_(timeout_s) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // A channel of its own per client (gRPC would otherwise share one connection between equal channels),
  // so that --concurrency N opens N connections like the HTTP protocols do.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetString("accel.bench.client", std::to_string(reinterpret_cast<uintptr_t>(this)));
  stub_ = inference::GRPCInferenceService::NewStub(
      grpc::CreateCustomChannel(protocol.options().grpc_url, protocol.credentials(), args));
}

BenchOutcome GrpcBenchClient::Send(size_t input_index) {
  grpc::ClientContext context;
  if (!protocol_.options().api_key.empty()) context.AddMetadata("x-api-key", protocol_.options().api_key);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::microseconds(static_cast<int64_t>(timeout_s_ * 1e6)));
  inference::ModelInferResponse response;
  const grpc::Status s = stub_->ModelInfer(&context, protocol_.request(input_index), &response);
  BenchOutcome outcome;
  if (!s.ok()) {
    // UNAVAILABLE / DEADLINE_EXCEEDED without a server answer are transport failures, like HTTP's code 0.
    const bool transport = s.error_code() == grpc::StatusCode::UNAVAILABLE &&
                           s.error_message().find("connect") != std::string::npos;
    outcome.code = transport ? 0 : static_cast<int>(s.error_code());
    outcome.error = "gRPC " + std::to_string(static_cast<int>(s.error_code())) + ": " + s.error_message();
    return outcome;
  }
  if (response.outputs_size() == 0 || response.raw_output_contents_size() != response.outputs_size()) {
    outcome.code = 200;
    outcome.error = "ModelInfer response without raw outputs";
    return outcome;
  }
  outcome.code = 200;
  outcome.ok = true;
  return outcome;
}

}  // namespace

std::unique_ptr<BenchProtocol> MakeGrpcBenchProtocol(const BenchProtocolOptions& options) {
  return std::make_unique<GrpcBenchProtocol>(options);
}

}  // namespace accel
