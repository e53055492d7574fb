// KServe v2 / Open Inference Protocol: the logic shared by the HTTP (kserve_http_api) and gRPC
// (kserve_grpc_server) front ends. It knows tensors, datatypes, model metadata and how an inference request
// maps onto the scheduler (raw tensors) or the detection pipeline (encoded images); it knows neither JSON
// nor protobuf, so both wire formats decode into the same plain structs and get the same checks.
//
// Models as a KServe client sees them:
//   "<model>"         the model's native tensors: input as model.yaml declares it (e.g. "images" FP32
//                     [-1,3,416,416]), outputs as declared (e.g. "output" FP32 [-1,3549,85]).
//   "<model>-detect"  the detection entry point (detection models only): input "image" BYTES [1] holding one
//                     JPEG or PNG file; outputs "boxes" FP32 [n,4] (x_min, y_min, x_max, y_max in original
//                     pixels), "scores" FP32 [n], "classes" INT32 [n], "labels" BYTES [n], "count" INT32 [1].
//                     Request parameters: threshold (default 0.4), max_results, engine.
// Both accept the request parameter "engine" ("auto", "cpu", ...) to pin an engine kind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/service_context.h"
#include "core/status.h"
#include "core/tensor.h"

namespace accel {

inline constexpr std::string_view kDetectSuffix = "-detect";

// KServe datatype names ("FP32", "UINT8", ...). BYTES has no DType: it is handled by the detect entry point.
std::string_view KServeDatatype(DType dtype);
StatusOr<DType> DTypeFromKServe(std::string_view datatype);
// Size of one element in bytes, 0 for BYTES (variable) and for unknown names.
size_t KServeElementSize(std::string_view datatype);
bool IsKnownKServeDatatype(std::string_view datatype);
// A client-sent input shape: no negative dim, element count (and, for fixed-size types, byte size) without
// overflow. HTTP and gRPC both call it before any size arithmetic on the shape.
Status ValidateInputShape(const std::string& input, const std::string& datatype,
                          const std::vector<int64_t>& shape);
// Bytes that `shape` of fixed-size `datatype` needs; call after ValidateInputShape.
size_t InputByteSize(const std::string& datatype, const std::vector<int64_t>& shape);

// gRPC status code numbers (grpc::StatusCode values, which are fixed by the gRPC spec) for a Status code.
int GrpcCodeFor(StatusCode code);

// BYTES tensors on the wire (raw contents, binary data): each element is a 4-byte little-endian length and
// that many bytes. Splits `raw` into elements; InvalidArgument when it is not exactly such a sequence.
StatusOr<std::vector<std::string_view>> SplitBytesElements(std::string_view raw);
void AppendBytesElement(std::string& out, std::string_view element);

using KServeParameter = std::variant<bool, int64_t, double, std::string>;
using KServeParameters = std::map<std::string, KServeParameter>;

struct KServeTensorMetadata {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;  // -1: variable
};

struct KServeModelMetadata {
  std::string name;
  std::vector<std::string> versions;
  std::string platform;
  std::vector<KServeTensorMetadata> inputs;
  std::vector<KServeTensorMetadata> outputs;
};

struct KServeServerMetadata {
  std::string name = "accel";
  std::string version;
  std::vector<std::string> extensions;
};

// One input of a request. `data` is the tensor's bytes in row-major order (BYTES: length-prefixed
// elements); it only has to stay valid for the duration of KServeBackend::Infer(), which copies it.
struct KServeInput {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  std::string_view data;
  // Optional: `data` already as the Tensor the scheduler would get for a batch of 1 (dtype, shape and bytes
  // equal to the above; `data` must view its bytes). The backend then submits it as it is instead of copying
  // `data` into a new Tensor (the gRPC front end's zero-copy path). Ignored when it does not match.
  std::shared_ptr<const Tensor> tensor;
};

struct KServeRequest {
  std::string model;
  std::string version;  // empty: the server's choice
  std::string id;
  KServeParameters parameters;
  std::vector<KServeInput> inputs;
  std::vector<std::string> requested_outputs;  // empty: every output
  // Raw-tensor requests with a batch of 1 only: hand the engine's output tensors back in
  // KServeOutput::tensor instead of copying them into KServeOutput::data (which is then left empty).
  bool outputs_as_tensors = false;
};

struct KServeOutput {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  std::string data;  // row-major bytes (BYTES: length-prefixed elements)
  // Set instead of `data` when KServeRequest::outputs_as_tensors was honoured: the same bytes, not copied.
  std::shared_ptr<const Tensor> tensor;
  std::string_view bytes() const {
    if (!tensor) return data;
    return std::string_view(reinterpret_cast<const char*>(tensor->bytes()), tensor->byte_size());
  }
};

struct KServeResponse {
  std::string model;
  std::string version;
  std::string id;
  std::vector<KServeOutput> outputs;
  // Where the request ran (also returned as response parameters "device", "engine", "simulated").
  std::string device_id;
  std::string engine_kind;
  bool simulated = false;
  // What the result cache did (CacheStatusName): "hit", "miss", or "bypass" (also every raw-tensor request,
  // which the result cache does not hold).
  std::string cache = "bypass";
};

using KServeDone = std::function<void(StatusOr<KServeResponse>)>;

struct KServeRepositoryEntry {
  std::string name;
  std::string version;
  std::string state;  // "READY", "UNAVAILABLE" (loaded, no device can serve it), "UNLOADED"
  std::string reason;
};

// The protocol-neutral KServe service. Thread-safe: every method may be called from any thread.
class KServeBackend {
 public:
  struct Options {
    // Model repository for the repository extension (index, load); empty: only loaded models are listed
    // and load answers FAILED_PRECONDITION.
    std::filesystem::path models_dir;
    float default_threshold = kDefaultThreshold;
    // Whether clients may load and unload models (Triton's --model-control-mode explicit). Off (Triton's
    // "none"): load and unload answer PERMISSION_DENIED, so that no client can take a model away.
    bool repository_control = false;
  };

  // `context` (and what it points to) must outlive the backend.
  KServeBackend(ServiceContext& context, Options options);

  bool Live() const { return true; }
  // Ready when at least one model is loaded and every loaded model can be served by some device, and the
  // service is not draining (ServiceContext::Draining).
  bool Ready() const;
  KServeServerMetadata ServerMetadata() const;
  // NotFound ("Request for unknown model: ...") for a model or version that is not loaded.
  StatusOr<KServeModelMetadata> ModelMetadata(const std::string& name, const std::string& version) const;
  StatusOr<bool> ModelReady(const std::string& name, const std::string& version) const;

  // Validates the request at once (errors reach `done` before Infer returns) and copies the input bytes;
  // `done` is called exactly once, from this thread or a pipeline/worker thread.
  void Infer(const KServeRequest& request, KServeDone done);

  // Repository extension. Load and Unload go through the context's ModelControl (one change at a time, with
  // every other front end) and block (model loading can take seconds): call them off I/O threads.
  std::vector<KServeRepositoryEntry> RepositoryIndex(bool ready_only) const;
  Status LoadModel(const std::string& name);
  Status UnloadModel(const std::string& name);

 private:
  struct Resolved;
  // Ok when Options::repository_control allows `action` ("load", "unload").
  Status CheckRepositoryControl(std::string_view action) const;
  StatusOr<Resolved> Resolve(const std::string& name, const std::string& version) const;
  void InferRaw(const KServeRequest& request, std::shared_ptr<const ModelConfig> model, KServeDone done);
  void InferDetect(const KServeRequest& request, std::shared_ptr<const ModelConfig> model, KServeDone done);

  ServiceContext& context_;
  Options options_;
};

// Reads a numeric parameter (bool/int/double, or a string holding a number); nullopt when absent.
StatusOr<std::optional<double>> NumericParameter(const KServeParameters& parameters, const std::string& name);

}  // namespace accel
