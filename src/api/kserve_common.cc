#include "api/kserve_common.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <set>

#include "api/model_control.h"
#include "core/logging.h"
#include "core/model_config.h"
#include "core/model_repository.h"
#include "core/numbers.h"

namespace accel {
namespace {

std::string UnknownModel(const std::string& name, const std::string& version) {
  // Triton's wording, which clients and operators grep for.
  if (version.empty()) return "Request for unknown model: '" + name + "' is not found";
  return "Request for unknown model: '" + name + "' version " + version + " is not found";
}

bool IsDetectionModel(const ModelConfig& model) {
  return model.task == "detection" && model.decoder.family != "raw";
}

std::vector<int64_t> WithBatch(const std::vector<int64_t>& item) {
  std::vector<int64_t> shape = {-1};
  shape.insert(shape.end(), item.begin(), item.end());
  return shape;
}

std::string ShapeText(const std::vector<int64_t>& shape) { return ShapeToString(shape); }

template <typename T>
void AppendPod(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

}  // namespace

struct KServeBackend::Resolved {
  std::shared_ptr<const ModelConfig> model;
  bool detect = false;
};

std::string_view KServeDatatype(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "FP32";
    case DType::kFloat16:
      return "FP16";
    case DType::kUInt8:
      return "UINT8";
    case DType::kInt8:
      return "INT8";
    case DType::kInt32:
      return "INT32";
    case DType::kInt64:
      return "INT64";
  }
  return "FP32";
}

StatusOr<DType> DTypeFromKServe(std::string_view datatype) {
  if (datatype == "FP32") return DType::kFloat32;
  if (datatype == "FP16") return DType::kFloat16;
  if (datatype == "UINT8") return DType::kUInt8;
  if (datatype == "INT8") return DType::kInt8;
  if (datatype == "INT32") return DType::kInt32;
  if (datatype == "INT64") return DType::kInt64;
  return InvalidArgument("datatype '" + std::string(datatype) +
                         "' is not a tensor datatype Accel models use");
}

size_t KServeElementSize(std::string_view d) {
  if (d == "BOOL" || d == "UINT8" || d == "INT8") return 1;
  if (d == "UINT16" || d == "INT16" || d == "FP16" || d == "BF16") return 2;
  if (d == "UINT32" || d == "INT32" || d == "FP32") return 4;
  if (d == "UINT64" || d == "INT64" || d == "FP64") return 8;
  return 0;
}

bool IsKnownKServeDatatype(std::string_view d) { return d == "BYTES" || KServeElementSize(d) != 0; }

int GrpcCodeFor(StatusCode code) {
  // Numbers from the gRPC status code table (grpc/include/grpcpp/support/status_code_enum.h semantics).
  switch (code) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kCancelled:
      return 1;
    case StatusCode::kInvalidArgument:
      return 3;
    case StatusCode::kUnsupportedMediaType:
      return 3;
    case StatusCode::kDeadlineExceeded:
      return 4;
    case StatusCode::kNotFound:
      return 5;
    case StatusCode::kPayloadTooLarge:
      return 8;  // RESOURCE_EXHAUSTED, as gRPC reports oversized messages
    case StatusCode::kResourceExhausted:
      return 8;
    case StatusCode::kFailedPrecondition:
      return 9;
    case StatusCode::kUnimplemented:
      return 12;
    case StatusCode::kInternal:
      return 13;
    case StatusCode::kUnavailable:
      return 14;
    case StatusCode::kPermissionDenied:
      return 7;
    case StatusCode::kUnauthenticated:
      return 16;
  }
  return 2;  // UNKNOWN
}

StatusOr<std::vector<std::string_view>> SplitBytesElements(std::string_view raw) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < raw.size()) {
    if (raw.size() - pos < 4)
      return InvalidArgument("BYTES tensor data is truncated: " + std::to_string(raw.size() - pos) +
                             " trailing bytes cannot hold a 4-byte element length");
    uint32_t len = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(raw.data() + pos);
    len = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
          (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
    pos += 4;
    if (len > raw.size() - pos)
      return InvalidArgument("BYTES element " + std::to_string(out.size()) + " claims " +
                             std::to_string(len) + " bytes but only " + std::to_string(raw.size() - pos) +
                             " remain");
    out.push_back(raw.substr(pos, len));
    pos += len;
  }
  return out;
}

void AppendBytesElement(std::string& out, std::string_view element) {
  const uint32_t len = static_cast<uint32_t>(element.size());
  const unsigned char prefix[4] = {static_cast<unsigned char>(len), static_cast<unsigned char>(len >> 8),
                                   static_cast<unsigned char>(len >> 16),
                                   static_cast<unsigned char>(len >> 24)};
  out.append(reinterpret_cast<const char*>(prefix), 4);
  out.append(element);
}

Status ValidateInputShape(const std::string& input, const std::string& datatype,
                          const std::vector<int64_t>& shape) {
  for (int64_t d : shape)
    if (d < 0) return InvalidArgument("input '" + input + "' has a negative dimension");
  const bool fixed_size = datatype != "BYTES";
  if (ShapeElementCount(shape) < 0 || (fixed_size && !ShapeByteSize(shape, KServeElementSize(datatype))))
    return InvalidArgument("input '" + input + "' shape " + ShapeToString(shape) + " is too large");
  return Status::Ok();
}

size_t InputByteSize(const std::string& datatype, const std::vector<int64_t>& shape) {
  return ShapeByteSize(shape, KServeElementSize(datatype)).value_or(0);
}

StatusOr<std::optional<double>> NumericParameter(const KServeParameters& parameters,
                                                 const std::string& name) {
  auto it = parameters.find(name);
  if (it == parameters.end()) return std::optional<double>();
  const KServeParameter& p = it->second;
  if (const auto* b = std::get_if<bool>(&p)) return std::optional<double>(*b ? 1.0 : 0.0);
  if (const auto* i = std::get_if<int64_t>(&p)) return std::optional<double>(static_cast<double>(*i));
  if (const auto* d = std::get_if<double>(&p)) return std::optional<double>(*d);
  const std::string& s = std::get<std::string>(p);
  if (const auto v = ParseDouble(s)) return std::optional<double>(*v);
  return InvalidArgument("parameter '" + name + "' must be a number, got '" + s + "'");
}

KServeBackend::KServeBackend(ServiceContext& context, Options options)
    : context_(context), options_(std::move(options)) {}

bool KServeBackend::Ready() const {
  if (context_.Draining()) return false;
  const auto models = context_.scheduler->Models();
  if (models.empty()) return false;
  return std::all_of(models.begin(), models.end(), [](const ModelStatus& m) { return m.ready; });
}

KServeServerMetadata KServeBackend::ServerMetadata() const {
  KServeServerMetadata meta;
  meta.version = context_.version;
  // Extensions in Triton's naming: binary tensor data over HTTP, the model repository API, and the streaming
  // gRPC method. Classification, sequence, shared memory and statistics are not implemented.
  meta.extensions = {"binary_tensor_data", "model_repository", "grpc_stream_infer"};
  return meta;
}

StatusOr<KServeBackend::Resolved> KServeBackend::Resolve(const std::string& name,
                                                         const std::string& version) const {
  if (name.empty()) return InvalidArgument("model name is empty");
  Resolved r;
  r.model = context_.scheduler->FindModel(name);
  if (!r.model && name.size() > kDetectSuffix.size() &&
      name.compare(name.size() - kDetectSuffix.size(), kDetectSuffix.size(), kDetectSuffix) == 0) {
    r.model = context_.scheduler->FindModel(name.substr(0, name.size() - kDetectSuffix.size()));
    if (r.model && !IsDetectionModel(*r.model)) r.model.reset();
    r.detect = r.model != nullptr;
  }
  if (!r.model) return NotFound(UnknownModel(name, version));
  if (!version.empty() && version != r.model->version) return NotFound(UnknownModel(name, version));
  return r;
}

StatusOr<KServeModelMetadata> KServeBackend::ModelMetadata(const std::string& name,
                                                           const std::string& version) const {
  ACCEL_ASSIGN_OR_RETURN(Resolved r, Resolve(name, version));
  const ModelConfig& m = *r.model;
  KServeModelMetadata meta;
  meta.name = name;
  meta.versions = {m.version};
  if (r.detect) {
    meta.platform = "accel_detection";
    meta.inputs = {{"image", "BYTES", {1}}};
    meta.outputs = {{"boxes", "FP32", {-1, 4}},
                    {"scores", "FP32", {-1}},
                    {"classes", "INT32", {-1}},
                    {"labels", "BYTES", {-1}},
                    {"count", "INT32", {1}}};
    return meta;
  }
  meta.platform = "accel";
  meta.inputs = {{m.input.name, std::string(KServeDatatype(m.input.dtype)), WithBatch(m.InputItemShape())}};
  for (const auto& o : m.outputs)
    meta.outputs.push_back({o.name, std::string(KServeDatatype(o.dtype)), WithBatch(o.shape)});
  return meta;
}

StatusOr<bool> KServeBackend::ModelReady(const std::string& name, const std::string& version) const {
  ACCEL_ASSIGN_OR_RETURN(Resolved r, Resolve(name, version));
  for (const auto& m : context_.scheduler->Models())
    if (m.name == r.model->name) return m.ready;
  return false;
}

void KServeBackend::Infer(const KServeRequest& request, KServeDone done) {
  auto resolved = Resolve(request.model, request.version);
  if (!resolved.ok()) return done(resolved.status());
  for (const auto& in : request.inputs) {
    if (!IsKnownKServeDatatype(in.datatype))
      return done(InvalidArgument("input '" + in.name + "' has unknown datatype '" + in.datatype + "'"));
    for (int64_t d : in.shape)
      if (d < 0)
        return done(InvalidArgument("input '" + in.name + "' has a negative dimension in shape " +
                                    ShapeText(in.shape)));
  }
  if (resolved->detect) return InferDetect(request, resolved->model, std::move(done));
  InferRaw(request, resolved->model, std::move(done));
}

void KServeBackend::InferRaw(const KServeRequest& request, std::shared_ptr<const ModelConfig> model,
                             KServeDone done) {
  const ModelConfig& m = *model;
  if (request.inputs.size() != 1)
    return done(InvalidArgument("model '" + m.name + "' takes 1 input ('" + m.input.name + "'), got " +
                                std::to_string(request.inputs.size())));
  const KServeInput& in = request.inputs[0];
  if (in.name != m.input.name)
    return done(InvalidArgument("unexpected inference input '" + in.name + "' for model '" + m.name +
                                "'; its input is '" + m.input.name + "'"));
  const std::string want_type(KServeDatatype(m.input.dtype));
  if (in.datatype != want_type)
    return done(InvalidArgument("inference input '" + in.name + "' data-type is '" + in.datatype +
                                "', but model '" + m.name + "' expects '" + want_type + "'"));
  const std::vector<int64_t> item = m.InputItemShape();
  const int max_batch = std::max(1, m.max_batch);
  bool shape_ok =
      in.shape.size() == item.size() + 1 && std::equal(item.begin(), item.end(), in.shape.begin() + 1);
  if (!shape_ok || in.shape[0] < 1 || in.shape[0] > max_batch)
    return done(InvalidArgument("unexpected shape for input '" + in.name + "' for model '" + m.name +
                                "'. Expected " + ShapeText(WithBatch(item)) + " with batch 1.." +
                                std::to_string(max_batch) + ", got " + ShapeText(in.shape)));
  const int batch = static_cast<int>(in.shape[0]);
  const size_t item_bytes = static_cast<size_t>(ShapeElementCount(item)) * DTypeSize(m.input.dtype);
  if (in.data.size() != item_bytes * batch)
    return done(InvalidArgument("input '" + in.name + "' has " + std::to_string(in.data.size()) +
                                " bytes of data; shape " + ShapeText(in.shape) + " of " + want_type +
                                " needs " + std::to_string(item_bytes * batch)));
  std::vector<size_t> selected;  // indices into m.outputs, in response order
  if (request.requested_outputs.empty()) {
    for (size_t i = 0; i < m.outputs.size(); ++i) selected.push_back(i);
  } else {
    for (const auto& name : request.requested_outputs) {
      auto it = std::find_if(m.outputs.begin(), m.outputs.end(),
                             [&](const OutputSpec& o) { return o.name == name; });
      if (it == m.outputs.end())
        return done(InvalidArgument("unexpected inference output '" + name + "' for model '" + m.name + "'"));
      selected.push_back(static_cast<size_t>(it - m.outputs.begin()));
    }
  }
  std::string engine = "auto";
  if (auto it = request.parameters.find("engine"); it != request.parameters.end()) {
    if (const auto* s = std::get_if<std::string>(&it->second))
      engine = *s;
    else
      return done(InvalidArgument("parameter 'engine' must be a string"));
  }

  // A batch of N goes to the scheduler as N requests (it batches them again per device as it sees fit);
  // the answers are gathered here and concatenated along the batch dimension.
  struct Gather {
    std::mutex mu;
    int remaining = 0;
    std::vector<std::optional<InferenceResult>> results;
    Status first_error;
    KServeDone done;
    KServeResponse response;
    std::vector<size_t> selected;
    bool outputs_as_tensors = false;
  };
  auto g = std::make_shared<Gather>();
  g->remaining = batch;
  g->results.resize(batch);
  g->done = std::move(done);
  g->selected = std::move(selected);
  g->outputs_as_tensors = request.outputs_as_tensors && batch == 1;
  g->response.model = request.model;
  g->response.version = m.version;
  g->response.id = request.id;

  InferenceOptions options;
  options.model = m.name;
  options.engine = engine;
  for (int b = 0; b < batch; ++b) {
    std::vector<int64_t> shape = {1};
    shape.insert(shape.end(), item.begin(), item.end());
    const Tensor* given = in.tensor.get();
    std::shared_ptr<const Tensor> tensor;
    if (batch == 1 && given && given->dtype() == m.input.dtype && given->shape() == shape &&
        given->byte_size() == item_bytes && reinterpret_cast<const char*>(given->bytes()) == in.data.data()) {
      tensor = in.tensor;  // the front end already built it from the wire bytes: no second copy
    } else {
      auto copy = std::make_shared<Tensor>(m.input.dtype, std::move(shape), m.input.name);
      std::memcpy(copy->bytes(), in.data.data() + item_bytes * b, item_bytes);
      tensor = std::move(copy);
    }
    context_.scheduler->Submit(options, std::move(tensor), [g, b, model](StatusOr<InferenceResult> r) {
      std::unique_lock<std::mutex> lock(g->mu);
      if (r.ok())
        g->results[b] = std::move(r).value();
      else if (g->first_error.ok())
        g->first_error = r.status();
      if (--g->remaining > 0) return;
      lock.unlock();
      if (!g->first_error.ok()) return g->done(g->first_error);
      KServeResponse& resp = g->response;
      InferenceResult& first = *g->results[0];
      resp.device_id = first.device_id;
      resp.engine_kind = first.engine_kind;
      resp.simulated = first.simulated;
      for (size_t oi : g->selected) {
        const OutputSpec& spec = model->outputs[oi];
        if (oi >= first.outputs.size())
          return g->done(Internal("engine returned " + std::to_string(first.outputs.size()) +
                                  " outputs; model '" + model->name + "' declares " +
                                  std::to_string(model->outputs.size())));
        KServeOutput out;
        out.name = spec.name;
        out.datatype = std::string(KServeDatatype(first.outputs[oi].dtype()));
        const auto& s0 = first.outputs[oi].shape();
        out.shape = s0;
        if (out.shape.empty()) out.shape = {1};
        if (g->outputs_as_tensors) {
          // Batch of 1: the engine's tensor is the answer. Shared, because an output may be requested twice.
          auto same = std::find_if(resp.outputs.begin(), resp.outputs.end(),
                                   [&](const KServeOutput& o) { return o.name == spec.name && o.tensor; });
          out.tensor = same != resp.outputs.end()
                           ? same->tensor
                           : std::make_shared<const Tensor>(std::move(first.outputs[oi]));
          resp.outputs.push_back(std::move(out));
          continue;
        }
        out.shape[0] = 0;
        for (auto& res : g->results) {
          const Tensor& t = res->outputs.at(oi);
          if (t.shape() != s0 || t.dtype() != first.outputs[oi].dtype())
            return g->done(Internal("output '" + spec.name + "' changed shape within one batch"));
          out.data.append(reinterpret_cast<const char*>(t.bytes()), t.byte_size());
          out.shape[0] += s0.empty() ? 1 : s0[0];
        }
        resp.outputs.push_back(std::move(out));
      }
      g->done(std::move(g->response));
    });
  }
}

void KServeBackend::InferDetect(const KServeRequest& request, std::shared_ptr<const ModelConfig> model,
                                KServeDone done) {
  if (request.inputs.size() != 1 || request.inputs[0].name != "image")
    return done(InvalidArgument("model '" + request.model +
                                "' takes exactly one input, 'image' (BYTES [1]: a JPEG "
                                "or PNG file)"));
  const KServeInput& in = request.inputs[0];
  if (in.datatype != "BYTES")
    return done(InvalidArgument("inference input 'image' data-type is '" + in.datatype + "', but model '" +
                                request.model + "' expects 'BYTES'"));
  if (ShapeElementCount(in.shape) != 1)
    return done(InvalidArgument("input 'image' must hold exactly one element (shape [1]), got shape " +
                                ShapeText(in.shape)));
  auto elements = SplitBytesElements(in.data);
  if (!elements.ok()) return done(elements.status());
  if (elements->size() != 1)
    return done(InvalidArgument("input 'image' has shape " + ShapeText(in.shape) + " but its data holds " +
                                std::to_string(elements->size()) + " elements"));
  static const std::set<std::string> kKnownOutputs = {"boxes", "scores", "classes", "labels", "count"};
  for (const auto& name : request.requested_outputs)
    if (!kKnownOutputs.count(name))
      return done(
          InvalidArgument("unexpected inference output '" + name + "' for model '" + request.model + "'"));

  DetectionRequest det;
  det.model = model->name;
  det.encoded.assign((*elements)[0]);
  det.filter.threshold = options_.default_threshold;
  auto threshold = NumericParameter(request.parameters, "threshold");
  if (!threshold.ok()) return done(threshold.status());
  if (*threshold) {
    if (**threshold < 0 || **threshold > 1)
      return done(InvalidArgument("parameter 'threshold' must be in 0..1"));
    det.filter.threshold = static_cast<float>(**threshold);
  }
  auto max_results = NumericParameter(request.parameters, "max_results");
  if (!max_results.ok()) return done(max_results.status());
  if (*max_results) {
    auto n = IntegerInRange("max_results", **max_results, 1, 1000);
    if (!n.ok()) return done(n.status());
    det.filter.max_results = static_cast<int>(*n);
  }
  if (auto it = request.parameters.find("engine"); it != request.parameters.end()) {
    if (const auto* s = std::get_if<std::string>(&it->second))
      det.engine = *s;
    else
      return done(InvalidArgument("parameter 'engine' must be a string"));
  }
  if (auto it = request.parameters.find("cache"); it != request.parameters.end()) {
    if (const auto* b = std::get_if<bool>(&it->second))
      det.use_cache = *b;
    else
      return done(InvalidArgument("parameter 'cache' must be a boolean"));
  }
  std::vector<std::string> wanted = request.requested_outputs;
  if (wanted.empty()) wanted = {"boxes", "scores", "classes", "labels", "count"};
  KServeResponse base;
  base.model = request.model;
  base.version = model->version;
  base.id = request.id;
  context_.pipeline->Detect(std::move(det), [base = std::move(base), wanted = std::move(wanted),
                                             done = std::move(done)](StatusOr<DetectionResult> r) mutable {
    if (!r.ok()) return done(r.status());
    KServeResponse resp = std::move(base);
    resp.device_id = r->device_id;
    resp.engine_kind = r->engine_kind;
    resp.simulated = r->simulated;
    resp.cache = std::string(CacheStatusName(r->cache));
    const auto& dets = r->detections;
    const int64_t n = static_cast<int64_t>(dets.size());
    for (const auto& name : wanted) {
      KServeOutput out;
      out.name = name;
      if (name == "boxes") {
        out.datatype = "FP32";
        out.shape = {n, 4};
        for (const auto& d : dets) {
          AppendPod(out.data, d.box.x_min);
          AppendPod(out.data, d.box.y_min);
          AppendPod(out.data, d.box.x_max);
          AppendPod(out.data, d.box.y_max);
        }
      } else if (name == "scores") {
        out.datatype = "FP32";
        out.shape = {n};
        for (const auto& d : dets) AppendPod(out.data, d.confidence);
      } else if (name == "classes") {
        out.datatype = "INT32";
        out.shape = {n};
        for (const auto& d : dets) AppendPod(out.data, static_cast<int32_t>(d.class_id));
      } else if (name == "labels") {
        out.datatype = "BYTES";
        out.shape = {n};
        for (const auto& d : dets) AppendBytesElement(out.data, d.label);
      } else {
        out.datatype = "INT32";
        out.shape = {1};
        AppendPod(out.data, static_cast<int32_t>(n));
      }
      resp.outputs.push_back(std::move(out));
    }
    done(std::move(resp));
  });
}

std::vector<KServeRepositoryEntry> KServeBackend::RepositoryIndex(bool ready_only) const {
  std::map<std::string, KServeRepositoryEntry> entries;
  std::error_code ec;
  if (!options_.models_dir.empty() && std::filesystem::is_directory(options_.models_dir, ec)) {
    for (const auto& dir : std::filesystem::directory_iterator(options_.models_dir, ec)) {
      const auto yaml = dir.path() / "model.yaml";
      if (!std::filesystem::exists(yaml, ec)) continue;
      auto cfg = LoadRepositoryModel(yaml);
      KServeRepositoryEntry e;
      e.name = cfg.ok() ? cfg->name : dir.path().filename().string();
      e.version = cfg.ok() ? cfg->version : "";
      e.state = "UNAVAILABLE";
      e.reason = cfg.ok() ? "unloaded" : cfg.status().message();
      entries[e.name] = e;
    }
  }
  for (const auto& m : context_.scheduler->Models()) {
    KServeRepositoryEntry e;
    e.name = m.name;
    auto cfg = context_.scheduler->FindModel(m.name);
    e.version = cfg ? cfg->version : "";
    e.state = m.ready ? "READY" : "UNAVAILABLE";
    e.reason = m.ready ? "" : "loaded, but no ready device can serve it";
    entries[e.name] = e;
  }
  std::vector<KServeRepositoryEntry> out;
  for (auto& [name, e] : entries)
    if (!ready_only || e.state == "READY") out.push_back(std::move(e));
  return out;
}

Status KServeBackend::LoadModel(const std::string& name) {
  ACCEL_RETURN_IF_ERROR(CheckRepositoryControl("load"));
  if (!context_.model_control) return FailedPrecondition("this server cannot change its models at run time");
  return context_.model_control->Change([&](Scheduler& scheduler) -> Status {
    if (scheduler.FindModel(name)) return Status::Ok();  // already loaded: nothing to do
    if (options_.models_dir.empty())
      return FailedPrecondition("this server has no model repository to load '" + name + "' from");
    std::error_code ec;
    for (const auto& dir : std::filesystem::directory_iterator(options_.models_dir, ec)) {
      const auto yaml = dir.path() / "model.yaml";
      if (!std::filesystem::exists(yaml, ec)) continue;
      auto cfg = LoadRepositoryModel(yaml);
      if (!cfg.ok() || cfg->name != name) continue;
      ACCEL_LOG(kInfo, "kserve") << "repository load of model '" << name << "'";
      return scheduler.LoadModel(*cfg);
    }
    return NotFound("failed to load '" + name + "', no version is available");
  });
}

Status KServeBackend::CheckRepositoryControl(std::string_view action) const {
  if (options_.repository_control) return Status::Ok();
  return PermissionDenied("model " + std::string(action) +
                          " is disabled: start accel with --repository-control true (REPOSITORY_CONTROL) to "
                          "let clients load and unload models");
}

Status KServeBackend::UnloadModel(const std::string& name) {
  ACCEL_RETURN_IF_ERROR(CheckRepositoryControl("unload"));
  if (!context_.model_control) return FailedPrecondition("this server cannot change its models at run time");
  return context_.model_control->Change([&](Scheduler& scheduler) -> Status {
    if (!scheduler.FindModel(name)) return NotFound("failed to unload '" + name + "': it is not loaded");
    ACCEL_LOG(kInfo, "kserve") << "repository unload of model '" << name << "'";
    return scheduler.UnloadModel(name);
  });
}

}  // namespace accel
