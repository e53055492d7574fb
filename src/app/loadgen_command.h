// `accel bench`: a load generator in the spirit of Triton's perf_analyzer. It drives a running server with
// real images over a pluggable protocol (DeepStack multipart, the seed /ai/infer JSON API, KServe v2 over
// HTTP and gRPC, Frigate's zmq detector), sweeping concurrency or holding a fixed request rate, and reports
// throughput, latency percentiles and errors by status per step.
//
// Usable as a library: RunBenchStep() runs one step and returns its numbers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel {

// How the load generator's clients speak TLS (https:// URLs, --grpc-tls). PEM files.
struct BenchTlsFiles {
  std::string ca_file;    // CA the server's certificate must chain to; "": the system's trusted CAs
  std::string cert_file;  // client certificate, for servers that require one; "": none
  std::string key_file;   // its private key
};

struct BenchTarget {
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string base_path;  // URL path prefix without a trailing '/', usually ""
  bool tls = false;       // https: TLS 1.2+, the server's certificate verified against tls_files.ca_file
  BenchTlsFiles tls_files;
  std::string api_key;  // sent as X-API-Key on every request when not empty
};

// "http://host:port/prefix" or "https://..." -> BenchTarget (default ports 80 and 443). tls_files is left
// empty.
StatusOr<BenchTarget> ParseBenchUrl(std::string_view url);

// What one request ended as. `code` is the HTTP status for HTTP protocols (a gRPC protocol would put its
// status code here); 0 means a transport failure (connect, timeout, closed connection).
struct BenchOutcome {
  int code = 0;
  bool ok = false;
  std::string error;  // empty when ok
};

// One worker's connection to the server. Used by one thread only; reconnects by itself after a failure.
class BenchClient {
 public:
  virtual ~BenchClient() = default;
  // Sends request `input_index` (an index into the inputs given to Prepare) and waits for its answer.
  virtual BenchOutcome Send(size_t input_index) = 0;
};

// A protocol: turns inputs into requests once, then makes per-worker clients. Thread-safe after Prepare.
class BenchProtocol {
 public:
  virtual ~BenchProtocol() = default;
  virtual std::string name() const = 0;
  // Builds every request payload up front so that encoding cost is not measured. inputs: image file bytes.
  virtual Status Prepare(const std::vector<std::string>& inputs) = 0;
  virtual std::unique_ptr<BenchClient> NewClient(const BenchTarget& target, double timeout_s) const = 0;
};

// A prepared HTTP request of an HTTP-based protocol.
struct BenchHttpRequest {
  std::string method = "POST";
  std::string target;  // path and query, without the URL's base path
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
  std::string body;
};

// Base for HTTP/1.1 protocols: subclasses only build a request per input and judge a response; keep-alive
// connections, timeouts and reconnects are shared.
class HttpBenchProtocol : public BenchProtocol {
 public:
  Status Prepare(const std::vector<std::string>& inputs) override;
  std::unique_ptr<BenchClient> NewClient(const BenchTarget& target, double timeout_s) const override;

  virtual StatusOr<BenchHttpRequest> BuildRequest(const std::string& input, size_t index) const = 0;
  // Ok when the response is a successful answer (not merely HTTP 200: the body is checked too).
  virtual Status ValidateResponse(int http_status, std::string_view body) const = 0;

  const std::vector<BenchHttpRequest>& requests() const { return requests_; }

 private:
  std::vector<BenchHttpRequest> requests_;
};

// What a protocol needs besides the inputs. Protocols that do not speak HTTP take their address from here
// (BenchConfig::url and the BenchTarget given to NewClient are then ignored).
struct BenchProtocolOptions {
  std::string model;                        // empty: the server's default (kserve-*/grpc: yolox-nano)
  bool model_native = false;                // kserve-http/grpc: send the model's raw input tensor
  std::string models_dir = "models";        // where <model>/model.yaml is read for --model-native
  std::string grpc_url = "127.0.0.1:8001";  // grpc: host:port
  bool grpc_tls = false;                    // grpc: over TLS, with `tls`
  BenchTlsFiles tls;                        // for https:// URLs and grpc_tls
  std::string api_key;                      // sent as X-API-Key (HTTP) / x-api-key metadata (gRPC)
  std::string zmq_endpoint = "tcp://127.0.0.1:5555";
};

using BenchProtocolFactory =
    std::function<StatusOr<std::unique_ptr<BenchProtocol>>(const BenchProtocolOptions& options)>;

// Adds a protocol under `api` (replacing one of that name). Lets protocols with heavy dependencies (gRPC,
// ZMQ) live in their own library, registered by the application, while this file knows only the interface.
// Thread-safe.
void RegisterBenchProtocol(const std::string& api, BenchProtocolFactory factory);

// Built in: "deepstack": multipart POST /v1/vision/detection with field `image`. "ai": POST /ai/infer with
// JSON {"image_base64": ..., "model": ...}; model may be empty (server default). "kserve-http": KServe v2
// POST /v2/models/<model>-detect/infer with the image as a BYTES input in binary-data form, or with
// model_native the model's own input tensor (decoded and letterboxed once at Prepare) to /v2/models/<model>.
// Others ("grpc", "zmq") when registered.
StatusOr<std::unique_ptr<BenchProtocol>> MakeBenchProtocol(std::string_view api,
                                                           const BenchProtocolOptions& options);
StatusOr<std::unique_ptr<BenchProtocol>> MakeBenchProtocol(std::string_view api, const std::string& model);

// The model a KServe-style protocol addresses: options.model, or "yolox-nano" when empty.
std::string BenchModelName(const BenchProtocolOptions& options);

// For model-native protocols: the model's input tensor for one encoded image, decoded and prepared per
// <models_dir>/<model>/model.yaml (as the server would), with its KServe datatype name.
struct BenchNativeInput {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  std::string bytes;
};
StatusOr<BenchNativeInput> MakeBenchNativeInput(const std::string& image,
                                                const BenchProtocolOptions& options);

struct BenchConfig {
  std::string url = "http://127.0.0.1:8000";
  std::string api = "deepstack";
  std::string model;                      // for --api ai; empty: the server's default model
  BenchProtocolOptions protocol_options;  // model_native, grpc_url, ...; its `model` is set from `model`
  std::vector<std::string> images;        // file paths, cycled over
  std::vector<std::string> inputs;        // image bytes; used instead of `images` when non-empty (tests)
  int concurrency = 1;                    // workers, one keep-alive connection each
  double rate = 0;                        // > 0: open loop at this many requests/s, spread over the workers
                                          // (too few workers for the server's latency cap the rate reached)
  double duration_s = 10;                 // measured window
  double warmup_s = 0;                    // run before the window, not counted
  double timeout_s = 10;                  // per request
  bool progress = true;                   // a live line on stderr once a second
  std::string step_label;                 // shown in the progress line, e.g. "2/5"
  // Optional: an already prepared protocol (then api/model/images/inputs are not used).
  std::shared_ptr<BenchProtocol> protocol;
};

struct BenchStepResult {
  Status status;  // not OK when the step could not run at all (bad URL, unreadable image...)
  int concurrency = 0;
  double target_rate = 0;  // 0: closed loop
  double duration_s = 0;   // measured window actually used
  uint64_t requests = 0;   // completed within the window
  uint64_t ok = 0;
  uint64_t errors = 0;
  double throughput_rps = 0;  // successful requests per second
  // Latency of successful requests in milliseconds. In open-loop (rate) mode it is measured from the time
  // the request was due, so a server that falls behind shows it (no coordinated omission).
  double latency_mean_ms = 0;
  double latency_p50_ms = 0;
  double latency_p90_ms = 0;
  double latency_p99_ms = 0;
  double latency_max_ms = 0;
  std::map<int, uint64_t> codes;  // by BenchOutcome::code, successes included; 0 = transport error
  std::string first_error;        // one example message, for the report
};

// Runs warmup then the measured window. Blocks for about warmup_s + duration_s (+ in-flight requests).
BenchStepResult RunBenchStep(const BenchConfig& config);

// `accel bench ...`; argv[0] is "bench" or the program name (then argv[1] may be "bench"). Returns the
// process exit code: 0 when every step ran and at least one request succeeded in each, 1 otherwise, 2 for
// usage errors.
int RunBenchCommand(int argc, char** argv);

}  // namespace accel
