#include "app/loadgen_command.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>

#include "api/base64.h"
#include "app/command_line.h"
#include "core/model_config.h"
#include "core/numbers.h"
#include "core/strings.h"
#include "vision/image.h"
#include "vision/preprocess.h"

namespace accel {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

std::chrono::nanoseconds Seconds(double s) { return std::chrono::nanoseconds(static_cast<int64_t>(s * 1e9)); }

// The client side of https:// targets: TLS 1.2 or newer, the server's certificate verified against
// files.ca_file (or the system's CAs), and the client certificate when one is given.
StatusOr<std::unique_ptr<ssl::context>> MakeClientTlsContext(const BenchTlsFiles& files) {
  try {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
    context->set_verify_mode(ssl::verify_peer);
    if (files.ca_file.empty()) {
      context->set_default_verify_paths();
    } else {
      context->load_verify_file(files.ca_file);
    }
    if (files.cert_file.empty() != files.key_file.empty())
      return InvalidArgument("a TLS client certificate needs its key (--tls-cert with --tls-key)");
    if (!files.cert_file.empty()) {
      context->use_certificate_chain_file(files.cert_file);
      context->use_private_key_file(files.key_file, ssl::context::pem);
    }
    return context;
  } catch (const boost::system::system_error& e) {
    return InvalidArgument(std::string("TLS client setup (--tls-ca, --tls-cert, --tls-key): ") + e.what());
  }
}

// A keep-alive HTTP/1.1 connection driven synchronously by one worker thread, over TCP or TLS. Async
// operations on a private io_context are used only because Beast applies timeouts to asynchronous operations
// alone.
class HttpBenchClient : public BenchClient {
 public:
  HttpBenchClient(const HttpBenchProtocol& protocol, BenchTarget target, double timeout_s)
      : protocol_(protocol), target_(std::move(target)), timeout_(Seconds(timeout_s)), context_(1) {
    if (target_.tls) {
      auto tls = MakeClientTlsContext(target_.tls_files);
      if (tls.ok()) {
        tls_context_ = std::move(tls).value();
      } else {
        setup_error_ = tls.status().message();
      }
    }
    const auto& prepared = protocol_.requests();
    requests_.reserve(prepared.size());
    std::string host = target_.host + ":" + std::to_string(target_.port);
    for (const auto& p : prepared) {
      http::request<http::span_body<const char>> request;
      request.method_string(p.method);
      request.target(target_.base_path + p.target);
      request.version(11);
      request.set(http::field::host, host);
      request.set(http::field::user_agent, "accel-bench");
      if (!target_.api_key.empty()) request.set("X-API-Key", target_.api_key);
      if (!p.content_type.empty()) request.set(http::field::content_type, p.content_type);
      for (const auto& [name, value] : p.headers) request.set(name, value);
      request.body() = http::span_body<const char>::value_type(p.body.data(), p.body.size());
      request.keep_alive(true);
      request.prepare_payload();
      requests_.push_back(std::move(request));
    }
  }

  BenchOutcome Send(size_t input_index) override {
    BenchOutcome outcome;
    if (requests_.empty() || !setup_error_.empty()) {
      outcome.error = requests_.empty() ? "no prepared requests" : setup_error_;
      return outcome;
    }
    if (!connected()) {
      if (ErrorCode ec = Connect()) {
        outcome.error =
            "connect to " + target_.host + ":" + std::to_string(target_.port) + ": " + ec.message();
        return outcome;
      }
    }
    auto& request = requests_[input_index % requests_.size()];
    ErrorCode ec = Run([&](auto& stream, auto done) { http::async_write(stream, request, done); });
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    if (!ec) ec = Run([&](auto& stream, auto done) { http::async_read(stream, buffer_, parser, done); });
    if (ec) {
      Disconnect();  // the next Send reconnects
      outcome.error = ec == beast::error::timeout ? "timeout" : ec.message();
      return outcome;
    }
    auto& response = parser.get();
    outcome.code = static_cast<int>(response.result_int());
    if (!response.keep_alive()) Disconnect();
    Status valid = protocol_.ValidateResponse(outcome.code, response.body());
    outcome.ok = valid.ok();
    if (!valid.ok()) outcome.error = valid.message();
    return outcome;
  }

 private:
  bool connected() const { return plain_.has_value() || tls_.has_value(); }

  // The TCP layer: it carries the timeouts.
  beast::tcp_stream& Tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  void Disconnect() {
    plain_.reset();
    tls_.reset();
    buffer_.clear();
  }

  // Starts one operation on the connection's stream (TCP or TLS) and runs it to completion or timeout.
  template <typename Start>
  ErrorCode Run(Start start) {
    ErrorCode result = asio::error::would_block;
    Tcp().expires_after(timeout_);
    auto done = [&result](ErrorCode ec, size_t) { result = ec; };
    if (tls_) {
      start(*tls_, done);
    } else {
      start(*plain_, done);
    }
    context_.restart();
    context_.run();
    return result;
  }

  ErrorCode Connect() {
    ErrorCode ec;
    if (endpoints_.empty()) {
      tcp::resolver resolver(context_);
      endpoints_ = resolver.resolve(target_.host, std::to_string(target_.port), ec);
      if (ec) return ec;
    }
    Disconnect();
    if (tls_context_) {
      tls_.emplace(context_, *tls_context_);
    } else {
      plain_.emplace(context_);
    }
    ErrorCode result = asio::error::would_block;
    Tcp().expires_after(timeout_);
    Tcp().async_connect(endpoints_,
                        [&result](ErrorCode connect_ec, const tcp::endpoint&) { result = connect_ec; });
    context_.restart();
    context_.run();
    if (!result && tls_) result = Handshake();
    if (result) {
      Disconnect();
      return result;
    }
    Tcp().socket().set_option(tcp::no_delay(true), ec);
    return {};
  }

  // Names the server (SNI, when it is a host name) and checks that its certificate is for that name or IP.
  ErrorCode Handshake() {
    SSL* native = tls_->native_handle();
    ErrorCode ip_ec;
    asio::ip::make_address(target_.host, ip_ec);
    if (ip_ec) {
      SSL_set_tlsext_host_name(native, target_.host.c_str());
      SSL_set1_host(native, target_.host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native), target_.host.c_str());
    }
    ErrorCode result = asio::error::would_block;
    Tcp().expires_after(timeout_);
    tls_->async_handshake(ssl::stream_base::client, [&result](ErrorCode ec) { result = ec; });
    context_.restart();
    context_.run();
    return result;
  }

  const HttpBenchProtocol& protocol_;
  BenchTarget target_;
  std::chrono::nanoseconds timeout_;
  asio::io_context context_;
  std::unique_ptr<ssl::context> tls_context_;  // https only; outlives tls_
  std::string setup_error_;                    // the TLS context could not be made: every Send fails
  tcp::resolver::results_type endpoints_;
  std::optional<beast::tcp_stream> plain_;  // one of plain_ and tls_ while connected
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  std::vector<http::request<http::span_body<const char>>> requests_;
};

// Ok unless the body is JSON saying {"success": false}; then its "error" is the message.
Status CheckJsonSuccess(std::string_view body, bool require_success_field) {
  auto json = nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Internal("response is not JSON");
  if (!json.is_object()) return Internal("response JSON is not an object");
  auto it = json.find("success");
  if (it == json.end()) {
    return require_success_field ? Internal("response has no \"success\" field") : Status::Ok();
  }
  if (it->is_boolean() && it->get<bool>()) return Status::Ok();
  auto error = json.find("error");
  return Internal(error != json.end() && error->is_string() ? error->get<std::string>()
                                                            : std::string("success is not true"));
}

Status HttpStatusError(int http_status, std::string_view body) {
  std::string message = "HTTP " + std::to_string(http_status);
  auto json = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (json.is_object() && json.contains("error") && json["error"].is_string()) {
    message += ": " + json["error"].get<std::string>();
  }
  return Internal(message);
}

class DeepStackProtocol : public HttpBenchProtocol {
 public:
  std::string name() const override { return "deepstack"; }

  StatusOr<BenchHttpRequest> BuildRequest(const std::string& input, size_t index) const override {
    std::string boundary = "accel-bench-7f3a9c21e5b04d68";
    while (input.find(boundary) != std::string::npos) boundary += "x";
    BenchHttpRequest request;
    request.target = "/v1/vision/detection";
    request.content_type = "multipart/form-data; boundary=" + boundary;
    request.body.reserve(input.size() + 256);
    request.body += "--" + boundary + "\r\n";
    request.body += "Content-Disposition: form-data; name=\"image\"; filename=\"image" +
                    std::to_string(index) + ".jpg\"\r\n";
    request.body += "Content-Type: image/jpeg\r\n\r\n";
    request.body += input;
    request.body += "\r\n--" + boundary + "--\r\n";
    return request;
  }

  Status ValidateResponse(int http_status, std::string_view body) const override {
    if (http_status != 200) return HttpStatusError(http_status, body);
    return CheckJsonSuccess(body, /*require_success_field=*/true);
  }
};

class AiInferProtocol : public HttpBenchProtocol {
 public:
  explicit AiInferProtocol(std::string model) : model_(std::move(model)) {}
  std::string name() const override { return "ai"; }

  StatusOr<BenchHttpRequest> BuildRequest(const std::string& input, size_t) const override {
    nlohmann::ordered_json body;
    body["image_base64"] = Base64Encode(input);
    if (!model_.empty()) body["model"] = model_;
    BenchHttpRequest request;
    request.target = "/ai/infer";
    request.content_type = "application/json";
    request.body = body.dump();
    return request;
  }

  Status ValidateResponse(int http_status, std::string_view body) const override {
    if (http_status != 200) return HttpStatusError(http_status, body);
    return CheckJsonSuccess(body, /*require_success_field=*/false);
  }

 private:
  std::string model_;
};

// KServe v2 over HTTP (src/api/kserve_http_api.cc). Detect entry point: input "image" BYTES [1] sent with the
// binary tensor data extension (JSON header, then the 4-byte length-prefixed file bytes; the header's length
// in Inference-Header-Content-Length). Model-native: the model's input tensor, binary too.
class KServeHttpProtocol : public HttpBenchProtocol {
 public:
  explicit KServeHttpProtocol(BenchProtocolOptions options) : options_(std::move(options)) {}
  std::string name() const override {
    return options_.model_native ? "kserve-http (model-native)" : "kserve-http";
  }

  StatusOr<BenchHttpRequest> BuildRequest(const std::string& input, size_t) const override {
    const std::string model = BenchModelName(options_);
    std::string binary;
    nlohmann::ordered_json tensor;
    if (options_.model_native) {
      ACCEL_ASSIGN_OR_RETURN(BenchNativeInput native, MakeBenchNativeInput(input, options_));
      tensor = {{"name", native.name}, {"shape", native.shape}, {"datatype", native.datatype}};
      binary = std::move(native.bytes);
    } else {
      tensor = {{"name", "image"}, {"shape", {1}}, {"datatype", "BYTES"}};
      const uint32_t n = static_cast<uint32_t>(input.size());
      for (int i = 0; i < 4; ++i) binary.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
      binary += input;
    }
    tensor["parameters"] = {{"binary_data_size", binary.size()}};
    nlohmann::ordered_json header = {{"inputs", {tensor}}};
    const std::string header_text = header.dump();
    BenchHttpRequest request;
    request.target = "/v2/models/" + model + (options_.model_native ? "" : "-detect") + "/infer";
    request.content_type = "application/octet-stream";
    request.headers.emplace_back("Inference-Header-Content-Length", std::to_string(header_text.size()));
    request.body = header_text + binary;
    return request;
  }

  Status ValidateResponse(int http_status, std::string_view body) const override {
    if (http_status != 200) return HttpStatusError(http_status, body);
    // JSON only (no binary outputs requested); an answer has "outputs".
    auto json = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    if (!json.is_object() || !json.contains("outputs") || !json["outputs"].is_array())
      return Internal("KServe response without outputs");
    return Status::Ok();
  }

 private:
  BenchProtocolOptions options_;
};

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, BenchProtocolFactory>& Registry() {
  static std::map<std::string, BenchProtocolFactory> registry;
  return registry;
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open image '" + path + "'");
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Internal("cannot read image '" + path + "'");
  std::string bytes = std::move(out).str();
  if (bytes.empty()) return InvalidArgument("image '" + path + "' is empty");
  return bytes;
}

double Percentile(const std::vector<float>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest-rank: the smallest value with at least p of the samples at or below it.
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::string CodesText(const std::map<int, uint64_t>& codes) {
  std::string out;
  for (const auto& [code, count] : codes) {
    if (!out.empty()) out += " ";
    out += (code == 0 ? std::string("transport") : std::to_string(code)) + ":" + std::to_string(count);
  }
  return out;
}

}  // namespace

StatusOr<BenchTarget> ParseBenchUrl(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  BenchTarget target;
  std::string_view rest;
  if (url.substr(0, kHttp.size()) == kHttp) {
    rest = url.substr(kHttp.size());
  } else if (url.substr(0, kHttps.size()) == kHttps) {
    rest = url.substr(kHttps.size());
    target.tls = true;
  } else {
    return InvalidArgument("bench URL must start with http:// or https:// (got '" + std::string(url) + "')");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    target.base_path = std::string(rest.substr(slash));
    while (!target.base_path.empty() && target.base_path.back() == '/') target.base_path.pop_back();
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8000
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgument("bad IPv6 host in URL '" + std::string(url) + "'");
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgument("no host in URL '" + std::string(url) + "'");
  target.host = std::string(host);
  target.port = target.tls ? 443 : 80;
  if (!port.empty()) {
    int value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return InvalidArgument("bad port in URL '" + std::string(url) + "'");
      value = value * 10 + (c - '0');
      if (value > 65535) return InvalidArgument("bad port in URL '" + std::string(url) + "'");
    }
    target.port = value;
  }
  return target;
}

Status HttpBenchProtocol::Prepare(const std::vector<std::string>& inputs) {
  if (inputs.empty()) return InvalidArgument("no input images");
  requests_.clear();
  for (size_t i = 0; i < inputs.size(); ++i) {
    ACCEL_ASSIGN_OR_RETURN(BenchHttpRequest request, BuildRequest(inputs[i], i));
    requests_.push_back(std::move(request));
  }
  return Status::Ok();
}

std::unique_ptr<BenchClient> HttpBenchProtocol::NewClient(const BenchTarget& target, double timeout_s) const {
  return std::make_unique<HttpBenchClient>(*this, target, timeout_s);
}

std::string BenchModelName(const BenchProtocolOptions& options) {
  return options.model.empty() ? std::string("yolox-nano") : options.model;
}

StatusOr<BenchNativeInput> MakeBenchNativeInput(const std::string& image,
                                                const BenchProtocolOptions& options) {
  const std::string model_name = BenchModelName(options);
  const std::string path = options.models_dir + "/" + model_name + "/model.yaml";
  ACCEL_ASSIGN_OR_RETURN(ModelConfig model, LoadModelConfig(path));
  ACCEL_ASSIGN_OR_RETURN(Image decoded,
                         DecodeImage(reinterpret_cast<const uint8_t*>(image.data()), image.size()));
  LetterboxTransform transform;
  ACCEL_ASSIGN_OR_RETURN(Tensor tensor, PrepareInput(decoded, model.input, &transform));
  BenchNativeInput out;
  out.name = model.input.name;
  switch (tensor.dtype()) {
    case DType::kFloat32:
      out.datatype = "FP32";
      break;
    case DType::kUInt8:
      out.datatype = "UINT8";
      break;
    case DType::kInt8:
      out.datatype = "INT8";
      break;
    default:
      return InvalidArgument("model '" + model_name + "' input dtype is not supported by the bench");
  }
  out.shape = tensor.shape();
  out.bytes.assign(reinterpret_cast<const char*>(tensor.bytes()), tensor.byte_size());
  return out;
}

void RegisterBenchProtocol(const std::string& api, BenchProtocolFactory factory) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Registry()[api] = std::move(factory);
}

StatusOr<std::unique_ptr<BenchProtocol>> MakeBenchProtocol(std::string_view api,
                                                           const BenchProtocolOptions& options) {
  if (api == "deepstack") return std::unique_ptr<BenchProtocol>(std::make_unique<DeepStackProtocol>());
  if (api == "ai") return std::unique_ptr<BenchProtocol>(std::make_unique<AiInferProtocol>(options.model));
  if (api == "kserve-http")
    return std::unique_ptr<BenchProtocol>(std::make_unique<KServeHttpProtocol>(options));
  BenchProtocolFactory factory;
  std::string known = "deepstack, ai, kserve-http";
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    if (auto it = Registry().find(std::string(api)); it != Registry().end()) factory = it->second;
    for (const auto& [name, f] : Registry()) known += ", " + name;
  }
  if (factory) return factory(options);
  return InvalidArgument("unknown bench API '" + std::string(api) + "' (known: " + known + ")");
}

StatusOr<std::unique_ptr<BenchProtocol>> MakeBenchProtocol(std::string_view api, const std::string& model) {
  BenchProtocolOptions options;
  options.model = model;
  return MakeBenchProtocol(api, options);
}

BenchStepResult RunBenchStep(const BenchConfig& config) {
  BenchStepResult result;
  result.concurrency = std::max(1, config.concurrency);
  result.target_rate = config.rate > 0 ? config.rate : 0;
  result.duration_s = config.duration_s;

  auto fail = [&](Status status) {
    result.status = std::move(status);
    return result;
  };
  auto target = ParseBenchUrl(config.url);
  if (!target.ok()) return fail(target.status());
  target->tls_files = config.protocol_options.tls;
  target->api_key = config.protocol_options.api_key;
  if (target->tls) {
    // Checked once here so that bad files stop the step instead of failing every request.
    auto tls = MakeClientTlsContext(target->tls_files);
    if (!tls.ok()) return fail(tls.status());
  }
  if (config.duration_s <= 0) return fail(InvalidArgument("bench duration must be positive"));

  std::shared_ptr<BenchProtocol> protocol = config.protocol;
  if (!protocol) {
    BenchProtocolOptions options = config.protocol_options;
    options.model = config.model;
    auto made = MakeBenchProtocol(config.api, options);
    if (!made.ok()) return fail(made.status());
    protocol = std::move(made).value();
    std::vector<std::string> inputs = config.inputs;
    if (inputs.empty()) {
      for (const auto& path : config.images) {
        auto bytes = ReadFile(path);
        if (!bytes.ok()) return fail(bytes.status());
        inputs.push_back(std::move(bytes).value());
      }
    }
    if (inputs.empty()) return fail(InvalidArgument("no input images: give at least one --image FILE"));
    Status prepared = protocol->Prepare(inputs);
    if (!prepared.ok()) return fail(prepared);
  }

  const int workers = result.concurrency;
  const auto start = SteadyClock::now();
  const auto measure_start = start + Seconds(std::max(0.0, config.warmup_s));
  const auto measure_end = measure_start + Seconds(config.duration_s);
  const double rate = result.target_rate;

  std::atomic<uint64_t> next_ticket{0};  // open loop: request i is due at start + i / rate
  std::atomic<uint64_t> live_done{0};    // for the progress line, warmup included
  std::atomic<uint64_t> live_errors{0};
  std::mutex merge_mu;
  std::vector<float> latencies;
  std::condition_variable done_cv;
  int running = workers;

  auto worker = [&](int id) {
    std::unique_ptr<BenchClient> client = protocol->NewClient(*target, config.timeout_s);
    std::vector<float> local_latencies;
    std::map<int, uint64_t> codes;
    uint64_t ok = 0, errors = 0;
    std::string first_error;
    uint64_t sequence = static_cast<uint64_t>(id);
    for (;;) {
      SteadyClock::time_point due;
      uint64_t index;
      if (rate > 0) {
        index = next_ticket.fetch_add(1);
        due = start + Seconds(static_cast<double>(index) / rate);
        if (due >= measure_end) break;
        std::this_thread::sleep_until(due);
      } else {
        index = sequence;
        sequence += static_cast<uint64_t>(workers);
        due = SteadyClock::now();
        if (due >= measure_end) break;
      }
      BenchOutcome outcome = client->Send(index);
      auto finished = SteadyClock::now();
      live_done.fetch_add(1, std::memory_order_relaxed);
      if (!outcome.ok) live_errors.fetch_add(1, std::memory_order_relaxed);
      if (finished < measure_start || finished > measure_end) continue;
      ++codes[outcome.code];
      if (outcome.ok) {
        ++ok;
        double ms = std::chrono::duration<double, std::milli>(finished - due).count();
        local_latencies.push_back(static_cast<float>(ms));
      } else {
        ++errors;
        if (first_error.empty()) first_error = outcome.error;
        // A refused connection fails at once; without a pause a dead server would be hammered in a spin.
        if (outcome.code == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    std::lock_guard<std::mutex> lock(merge_mu);
    latencies.insert(latencies.end(), local_latencies.begin(), local_latencies.end());
    for (const auto& [code, count] : codes) result.codes[code] += count;
    result.ok += ok;
    result.errors += errors;
    if (result.first_error.empty()) result.first_error = first_error;
    if (--running == 0) done_cv.notify_all();
  };

  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(workers));
  for (int i = 0; i < workers; ++i) threads.emplace_back(worker, i);

  {
    const bool tty = isatty(STDERR_FILENO) != 0;
    uint64_t last_done = 0;
    auto last_time = start;
    std::unique_lock<std::mutex> lock(merge_mu);
    while (!done_cv.wait_for(lock, std::chrono::seconds(1), [&] { return running == 0; })) {
      if (!config.progress) continue;
      auto now = SteadyClock::now();
      uint64_t done = live_done.load();
      double interval = std::chrono::duration<double>(now - last_time).count();
      double current = interval > 0 ? static_cast<double>(done - last_done) / interval : 0;
      last_done = done;
      last_time = now;
      double elapsed = std::chrono::duration<double>(now - start).count();
      std::fprintf(stderr, "%s[bench%s%s c=%d%s] %5.1fs%s  requests %llu  errors %llu  %.1f req/s%s",
                   tty ? "\r" : "", config.step_label.empty() ? "" : " step ", config.step_label.c_str(),
                   workers, rate > 0 ? (" rate=" + std::to_string(static_cast<int>(rate))).c_str() : "",
                   elapsed, now < measure_start ? " (warmup)" : "", static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(live_errors.load()), current, tty ? "   " : "\n");
      std::fflush(stderr);
    }
    if (config.progress && tty) std::fprintf(stderr, "\n");
  }
  for (auto& t : threads) t.join();

  result.requests = result.ok + result.errors;
  result.throughput_rps = static_cast<double>(result.ok) / config.duration_s;
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    double sum = 0;
    for (float v : latencies) sum += v;
    result.latency_mean_ms = sum / static_cast<double>(latencies.size());
    result.latency_p50_ms = Percentile(latencies, 0.50);
    result.latency_p90_ms = Percentile(latencies, 0.90);
    result.latency_p99_ms = Percentile(latencies, 0.99);
    result.latency_max_ms = latencies.back();
  }
  return result;
}

namespace {

nlohmann::ordered_json StepJson(const BenchStepResult& r) {
  nlohmann::ordered_json codes = nlohmann::ordered_json::object();
  for (const auto& [code, count] : r.codes) codes[code == 0 ? "transport" : std::to_string(code)] = count;
  nlohmann::ordered_json j = {{"concurrency", r.concurrency},
                              {"target_rate", r.target_rate},
                              {"duration_s", r.duration_s},
                              {"requests", r.requests},
                              {"ok", r.ok},
                              {"errors", r.errors},
                              {"throughput_rps", r.throughput_rps},
                              {"latency_ms",
                               {{"mean", r.latency_mean_ms},
                                {"p50", r.latency_p50_ms},
                                {"p90", r.latency_p90_ms},
                                {"p99", r.latency_p99_ms},
                                {"max", r.latency_max_ms}}},
                              {"codes", codes}};
  if (!r.first_error.empty()) j["first_error"] = r.first_error;
  if (!r.status.ok()) j["status"] = r.status.ToString();
  return j;
}

}  // namespace

int RunBenchCommand(int argc, char** argv) {
  BenchConfig base;
  enum class Format { kText, kJson, kCsv } format = Format::kText;
  std::vector<int> concurrencies;
  bool concurrency_given = false;
  auto concurrency_range = [&](const std::string& value) -> Status {
    const auto bad = InvalidArgument("expected A:B[:STEP] with 1 <= A <= B <= 10000, got '" + value + "'");
    std::vector<int64_t> parts;
    for (const auto& piece : SplitList(value, ':')) {
      const auto n = ParseInt64(piece);
      if (!n) return bad;
      parts.push_back(*n);
    }
    if (parts.size() == 2) parts.push_back(1);
    if (parts.size() != 3 || parts[0] < 1 || parts[1] < parts[0] || parts[2] < 1 || parts[1] > 10000)
      return bad;
    concurrencies.clear();
    for (int64_t c = parts[0]; c <= parts[1]; c += parts[2]) concurrencies.push_back(static_cast<int>(c));
    concurrency_given = true;
    return Status::Ok();
  };
  auto set = [](auto* field, auto value) {
    return [field, value](const std::string&) {
      *field = value;
      return Status::Ok();
    };
  };
  int concurrency = 1;
  const std::vector<CommandOption> options = {
      {"--url", "", "URL", "server, http:// or https:// (default http://127.0.0.1:8000)",
       StringValue(&base.url)},
      {"--api", "", "API",
       "deepstack: multipart POST /v1/vision/detection (field image); ai: POST /ai/infer with JSON "
       "image_base64; kserve-http: POST /v2/models/<model>-detect/infer, image as BYTES (binary data "
       "extension); grpc: KServe ModelInfer on <model>-detect, image as raw_input_contents (address: "
       "--grpc-url); zmq: Frigate's zmq detector protocol, 320x320 RGB uint8 tensors (address: "
       "--zmq-endpoint) (default deepstack)",
       StringValue(&base.api)},
      {"--model", "", "NAME",
       "model for --api ai (default: the server's) and kserve-http/grpc (default yolox-nano)",
       StringValue(&base.model)},
      {"--model-native", "", "",
       "kserve-http/grpc: send the model's input tensor (decoded and letterboxed once, per "
       "<models-dir>/<model>/model.yaml) to /v2/models/<model>",
       BoolValue("model-native", &base.protocol_options.model_native)},
      {"--models-dir", "", "DIR", "for --model-native (default models)",
       StringValue(&base.protocol_options.models_dir)},
      {"--grpc-url", "", "HOST:PORT", "for --api grpc (default 127.0.0.1:8001)",
       StringValue(&base.protocol_options.grpc_url)},
      {"--grpc-tls", "", "", "for --api grpc: gRPC over TLS (with --tls-ca, --tls-cert, --tls-key)",
       BoolValue("grpc-tls", &base.protocol_options.grpc_tls)},
      {"--tls-ca", "", "FILE",
       "PEM CA that an https:// or --grpc-tls server's certificate must chain to (default: the system's)",
       StringValue(&base.protocol_options.tls.ca_file)},
      {"--tls-cert", "", "FILE", "PEM client certificate for servers that require one (with --tls-key)",
       StringValue(&base.protocol_options.tls.cert_file)},
      {"--tls-key", "", "FILE", "PEM private key of --tls-cert",
       StringValue(&base.protocol_options.tls.key_file)},
      {"--api-key", "", "KEY", "send this key with every request (X-API-Key; gRPC: x-api-key metadata)",
       StringValue(&base.protocol_options.api_key)},
      {"--zmq-endpoint", "", "ENDPOINT", "for --api zmq (default tcp://127.0.0.1:5555)",
       StringValue(&base.protocol_options.zmq_endpoint)},
      {"--image", "", "FILE", "input image; repeat to cycle over several (required)",
       [&base](const std::string& v) {
         base.images.push_back(v);
         return Status::Ok();
       }},
      {"--concurrency", "", "N", "workers, one keep-alive connection each (default 1; with --rate: 16)",
       [&](const std::string& v) -> Status {
         ACCEL_RETURN_IF_ERROR(IntValue("concurrency", &concurrency, 1, 10000)(v));
         concurrencies = {concurrency};
         concurrency_given = true;
         return Status::Ok();
       }},
      {"--concurrency-range", "", "A:B[:S]", "sweep concurrency from A to B in steps of S",
       concurrency_range},
      {"--rate", "", "R", "open loop: R requests/s spread over the workers",
       DoubleValue("rate", &base.rate, 1e-6, 1e9)},
      {"--duration", "", "SECONDS", "measured time per step (default 10)",
       DoubleValue("duration", &base.duration_s, 1e-3, 1e6)},
      {"--warmup", "", "SECONDS", "unmeasured time before each step (default 0)",
       DoubleValue("warmup", &base.warmup_s, 0, 1e6)},
      {"--timeout", "", "SECONDS", "per request (default 10)",
       DoubleValue("timeout", &base.timeout_s, 1e-3, 1e6)},
      {"--json", "", "", "machine-readable results on stdout (JSON)", set(&format, Format::kJson)},
      {"--csv", "", "", "machine-readable results on stdout (CSV)", set(&format, Format::kCsv)},
      {"--quiet", "", "", "no progress line on stderr", set(&base.progress, false)},
  };
  constexpr const char* kSynopsis = "bench [options]";
  constexpr const char* kDescription =
      "Load-tests a running server with real images, sweeping concurrency or holding a fixed rate.\n";
  // argv[0] is the program name or "bench"; a "bench" right after the program name is skipped too, so both
  // RunBenchCommand(argc, argv) and RunBenchCommand(argc - 1, argv + 1) work from main.
  const int first = (argc > 1 && std::string_view(argv[1]) == "bench") ? 2 : 1;
  const std::vector<std::string> args(argv + std::min(first, argc), argv + argc);
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::fputs(CommandUsage(kSynopsis, kDescription, options).c_str(), stdout);
      return 0;
    }
  auto positional = ParseCommandLine("bench", options, args, /*read_env=*/false);
  if (!positional.ok() || !positional->empty()) {
    std::fprintf(stderr, "accel bench: %s\n%s",
                 positional.ok() ? ("unexpected argument '" + (*positional)[0] + "'").c_str()
                                 : positional.status().message().c_str(),
                 CommandUsage(kSynopsis, kDescription, options).c_str());
    return 2;
  }
  if (!concurrency_given) concurrencies = {base.rate > 0 ? 16 : 1};
  if (base.images.empty()) {
    std::fprintf(stderr, "accel bench: give at least one --image FILE\n");
    return 2;
  }

  // Read and encode the inputs once for all steps.
  base.protocol_options.model = base.model;
  auto made = MakeBenchProtocol(base.api, base.protocol_options);
  if (!made.ok()) {
    std::fprintf(stderr, "accel bench: %s\n", made.status().message().c_str());
    return 2;
  }
  std::shared_ptr<BenchProtocol> protocol = std::move(made).value();
  std::vector<std::string> inputs;
  for (const auto& path : base.images) {
    auto bytes = ReadFile(path);
    if (!bytes.ok()) {
      std::fprintf(stderr, "accel bench: %s\n", bytes.status().message().c_str());
      return 2;
    }
    inputs.push_back(std::move(bytes).value());
  }
  if (Status s = protocol->Prepare(inputs); !s.ok()) {
    std::fprintf(stderr, "accel bench: %s\n", s.message().c_str());
    return 2;
  }
  base.protocol = protocol;
  if (auto target = ParseBenchUrl(base.url); !target.ok()) {
    std::fprintf(stderr, "accel bench: %s\n", target.status().message().c_str());
    return 2;
  }

  if (format == Format::kText) {
    std::printf(
        "accel bench: %s API at %s, %zu image(s), %s, %.0f s per step%s\n", protocol->name().c_str(),
        base.url.c_str(), inputs.size(),
        base.rate > 0 ? ("open loop at " + std::to_string(base.rate) + " req/s").c_str() : "closed loop",
        base.duration_s,
        base.warmup_s > 0 ? (" after " + std::to_string(base.warmup_s) + " s warmup").c_str() : "");
    std::printf("%-6s %-11s %9s %8s %10s %9s %9s %9s %9s  %s\n", "step", "concurrency", "requests", "errors",
                "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "codes");
  } else if (format == Format::kCsv) {
    std::printf(
        "step,concurrency,target_rate,duration_s,requests,ok,errors,throughput_rps,"
        "latency_mean_ms,latency_p50_ms,latency_p90_ms,latency_p99_ms,latency_max_ms,codes\n");
  }
  std::fflush(stdout);

  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  bool all_good = true;
  for (size_t step = 0; step < concurrencies.size(); ++step) {
    BenchConfig config = base;
    config.concurrency = concurrencies[step];
    config.step_label = std::to_string(step + 1) + "/" + std::to_string(concurrencies.size());
    BenchStepResult r = RunBenchStep(config);
    if (!r.status.ok()) {
      std::fprintf(stderr, "accel bench: step %zu failed: %s\n", step + 1, r.status.ToString().c_str());
      all_good = false;
    }
    if (r.ok == 0) all_good = false;
    if (format == Format::kText) {
      std::printf("%-6zu %-11d %9llu %8llu %10.1f %9.2f %9.2f %9.2f %9.2f  %s\n", step + 1, r.concurrency,
                  static_cast<unsigned long long>(r.requests), static_cast<unsigned long long>(r.errors),
                  r.throughput_rps, r.latency_p50_ms, r.latency_p90_ms, r.latency_p99_ms, r.latency_max_ms,
                  CodesText(r.codes).c_str());
      if (!r.first_error.empty()) std::printf("       first error: %s\n", r.first_error.c_str());
    } else if (format == Format::kCsv) {
      std::printf("%zu,%d,%g,%g,%llu,%llu,%llu,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,\"%s\"\n", step + 1,
                  r.concurrency, r.target_rate, r.duration_s, static_cast<unsigned long long>(r.requests),
                  static_cast<unsigned long long>(r.ok), static_cast<unsigned long long>(r.errors),
                  r.throughput_rps, r.latency_mean_ms, r.latency_p50_ms, r.latency_p90_ms, r.latency_p99_ms,
                  r.latency_max_ms, CodesText(r.codes).c_str());
    } else {
      all.push_back(StepJson(r));
    }
    std::fflush(stdout);
  }
  if (format == Format::kJson) std::printf("%s\n", all.dump(2).c_str());
  return all_good ? 0 : 1;
}

}  // namespace accel
