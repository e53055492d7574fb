#include "app/loadgen_zmq_protocol.h"

#include <nlohmann/json.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <string>
#include <vector>

#include "core/model_config.h"
#include "vision/image.h"
#include "vision/preprocess.h"

namespace accel {
namespace {

constexpr int kSize = 320;  // Frigate's default detector input
constexpr size_t kRowsBytes = 20 * 6 * sizeof(float);

class ZmqBenchProtocol;

class ZmqBenchClient : public BenchClient {
 public:
  ZmqBenchClient(const ZmqBenchProtocol& protocol, double timeout_s);
  BenchOutcome Send(size_t input_index) override;

 private:
  void Connect();

  const ZmqBenchProtocol& protocol_;
  int timeout_ms_;
  zmq::context_t context_{1};
  std::unique_ptr<zmq::socket_t> socket_;
};

class ZmqBenchProtocol : public BenchProtocol {
 public:
  explicit ZmqBenchProtocol(BenchProtocolOptions options) : options_(std::move(options)) {}
  std::string name() const override { return "zmq"; }

  Status Prepare(const std::vector<std::string>& inputs) override {
    if (inputs.empty()) return InvalidArgument("no input images");
    if (options_.zmq_endpoint.empty()) return InvalidArgument("no --zmq-endpoint");
    InputSpec spec;
    spec.width = kSize;
    spec.height = kSize;
    spec.layout = TensorLayout::kNHWC;
    spec.color = ColorOrder::kRGB;
    spec.dtype = DType::kUInt8;
    spec.letterbox = LetterboxMode::kStretch;
    tensors_.clear();
    for (const auto& input : inputs) {
      ACCEL_ASSIGN_OR_RETURN(Image image,
                             DecodeImage(reinterpret_cast<const uint8_t*>(input.data()), input.size()));
      LetterboxTransform transform;
      ACCEL_ASSIGN_OR_RETURN(Tensor tensor, PrepareInput(image, spec, &transform));
      tensors_.emplace_back(reinterpret_cast<const char*>(tensor.bytes()), tensor.byte_size());
    }
    header_ =
        nlohmann::json{{"shape", {1, kSize, kSize, 3}}, {"dtype", "uint8"}, {"model_type", "yolox"}}.dump();
    return Status::Ok();
  }

  std::unique_ptr<BenchClient> NewClient(const BenchTarget&, double timeout_s) const override {
    return std::make_unique<ZmqBenchClient>(*this, timeout_s);
  }

  const std::string& header() const { return header_; }
  const std::string& tensor(size_t i) const { return tensors_[i % tensors_.size()]; }
  const std::string& endpoint() const { return options_.zmq_endpoint; }

 private:
  BenchProtocolOptions options_;
  std::string header_;
  std::vector<std::string> tensors_;  // 320x320x3 RGB uint8 each
};

ZmqBenchClient::ZmqBenchClient(const ZmqBenchProtocol& protocol, double timeout_s)
    : protocol_(protocol), timeout_ms_(static_cast<int>(timeout_s * 1000)) {}

void ZmqBenchClient::Connect() {
  socket_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::req);
  socket_->set(zmq::sockopt::linger, 0);
  socket_->set(zmq::sockopt::rcvtimeo, timeout_ms_);
  socket_->set(zmq::sockopt::sndtimeo, timeout_ms_);
  socket_->connect(protocol_.endpoint());
}

BenchOutcome ZmqBenchClient::Send(size_t input_index) {
  BenchOutcome outcome;
  try {
    if (!socket_) Connect();
    const std::string& tensor = protocol_.tensor(input_index);
    std::vector<zmq::const_buffer> frames = {zmq::buffer(protocol_.header()), zmq::buffer(tensor)};
    if (!zmq::send_multipart(*socket_, frames)) {
      socket_.reset();
      outcome.error = "zmq send timed out";
      return outcome;
    }
    std::vector<zmq::message_t> reply;
    if (!zmq::recv_multipart(*socket_, std::back_inserter(reply))) {
      socket_.reset();  // a REQ socket that missed its reply cannot send again
      outcome.error = "zmq reply timed out";
      return outcome;
    }
    if (reply.size() == 1 && reply[0].size() == kRowsBytes) {
      outcome.code = 200;
      outcome.ok = true;
      return outcome;
    }
    outcome.code = 400;
    outcome.error = "unexpected zmq reply";
    if (!reply.empty()) {
      auto header = nlohmann::json::parse(reply[0].to_string_view(), nullptr, false);
      if (header.is_object() && header.contains("error") && header["error"].is_string())
        outcome.error = "zmq error reply: " + header["error"].get<std::string>();
    }
  } catch (const zmq::error_t& e) {
    socket_.reset();
    outcome.code = 0;
    outcome.error = std::string("zmq: ") + e.what();
  }
  return outcome;
}

}  // namespace

std::unique_ptr<BenchProtocol> MakeZmqBenchProtocol(const BenchProtocolOptions& options) {
  return std::make_unique<ZmqBenchProtocol>(options);
}

}  // namespace accel
