// The KServe gRPC front end in-process, driven by a client stub generated from proto/grpc_service.proto:
// the same CPU engine and model as `accel serve`, and the seed API's /ai/infer over real HTTP as the
// reference the gRPC answers must equal.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <thread>

#include "api/ai_api.h"
#include "api/http_router.h"
#include "api/http_server.h"
#include "api/kserve_common.h"
#include "api/kserve_grpc_fast_path.h"
#include "api/kserve_grpc_server.h"
#include "api/kserve_http_api.h"
#include "core/model_config.h"
#include "core/thread_pool.h"
#include "engines/cpu/cpu_engine.h"
#include "grpc_service.grpc.pb.h"
#include "pipeline/detection_pipeline.h"
#include "protocol_test_core.h"
#include "scheduler/scheduler.h"
#include "test_client.h"
#include "vision/decoder.h"
#include "vision/image.h"
#include "vision/preprocess.h"

namespace accel {
namespace {

using nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string ImagePath(const std::string& name) {
  return std::string(ACCEL_SHARED_DIR) + "/testdata/images/" + name;
}

// One service for the whole suite: loading the model takes a while.
struct Service {
  ProtocolTestCore core;
  HttpRouter router;
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<KServeGrpcServer> grpc;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub;

  Status Start() {
    ACCEL_ASSIGN_OR_RETURN(auto engine, MakeTestCpuEngine());
    ACCEL_RETURN_IF_ERROR(core.Start(std::move(engine)));
    RegisterAiRoutes(router, core.context());
    RegisterKServeRoutes(router, core.context(), core.backend());
    HttpServer::Options http_options;
    http_options.host = "127.0.0.1";
    http_options.port = 0;
    http_options.io_threads = 2;
    http = std::make_unique<HttpServer>(http_options, router.AsHandler());
    ACCEL_RETURN_IF_ERROR(http->Start());
    grpc = std::make_unique<KServeGrpcServer>(core.context(), core.backend(),
                                              KServeGrpcServer::Options{"127.0.0.1", 0});
    ACCEL_RETURN_IF_ERROR(grpc->Start());
    channel =
        grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc->port()), grpc::InsecureChannelCredentials());
    stub = inference::GRPCInferenceService::NewStub(channel);
    return Status::Ok();
  }
  ~Service() {
    if (grpc) grpc->Stop();
    if (http) http->Stop();
  }
};

Service* g_service = nullptr;

class KServeGrpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_service = new Service();
    Status s = g_service->Start();
    if (!s.ok()) {
      delete g_service;
      g_service = nullptr;
      FAIL() << "service did not start: " << s.ToString();
    }
  }
  static void TearDownTestSuite() {
    delete g_service;
    g_service = nullptr;
  }
  void SetUp() override { ASSERT_NE(g_service, nullptr); }

  inference::GRPCInferenceService::Stub& stub() { return *g_service->stub; }

  // /ai/infer over HTTP: the reference detections.
  std::vector<json> AiInfer(const std::string& jpeg) {
    testing::TestClient client(g_service->http->port());
    auto response = client.Post("/ai/infer", jpeg, "image/jpeg");
    EXPECT_EQ(response.result_int(), 200) << response.body();
    json body = json::parse(response.body());
    return body["detections"].get<std::vector<json>>();
  }

  static std::string Element(const std::string& bytes) {
    std::string raw;
    AppendBytesElement(raw, bytes);
    return raw;
  }

  static inference::ModelInferRequest DetectRequest(const std::string& jpeg) {
    inference::ModelInferRequest request;
    request.set_model_name("yolox-nano-detect");
    request.set_id("req-1");
    auto* in = request.add_inputs();
    in->set_name("image");
    in->set_datatype("BYTES");
    in->add_shape(1);
    request.add_raw_input_contents(Element(jpeg));
    return request;
  }
};

template <typename T>
std::vector<T> As(const std::string& raw) {
  std::vector<T> out(raw.size() / sizeof(T));
  std::memcpy(out.data(), raw.data(), out.size() * sizeof(T));
  return out;
}

// Compares a list of /ai/infer detections with boxes/scores/labels from KServe outputs.
void ExpectSameDetections(const std::vector<json>& reference, const std::vector<float>& boxes,
                          const std::vector<float>& scores, const std::vector<std::string>& labels) {
  ASSERT_EQ(scores.size(), reference.size());
  ASSERT_EQ(labels.size(), reference.size());
  ASSERT_EQ(boxes.size(), reference.size() * 4);
  for (size_t i = 0; i < reference.size(); ++i) {
    const json& r = reference[i];
    EXPECT_EQ(labels[i], r["label"].get<std::string>()) << i;
    EXPECT_NEAR(scores[i], r["confidence"].get<double>(), 1e-3) << i;  // /ai/infer rounds to 4 decimals
    EXPECT_NEAR(boxes[i * 4 + 0], r["box"]["x_min"].get<double>(), 0.06) << i;
    EXPECT_NEAR(boxes[i * 4 + 1], r["box"]["y_min"].get<double>(), 0.06) << i;
    EXPECT_NEAR(boxes[i * 4 + 2], r["box"]["x_max"].get<double>(), 0.06) << i;
    EXPECT_NEAR(boxes[i * 4 + 3], r["box"]["y_max"].get<double>(), 0.06) << i;
  }
}

TEST_F(KServeGrpcTest, HealthAndMetadata) {
  grpc::ClientContext c1, c2, c3, c4, c5, c6;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub().ServerLive(&c1, {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub().ServerReady(&c2, {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  inference::ServerMetadataResponse server;
  ASSERT_TRUE(stub().ServerMetadata(&c3, {}, &server).ok());
  EXPECT_EQ(server.name(), "accel");
  EXPECT_NE(std::find(server.extensions().begin(), server.extensions().end(), "binary_tensor_data"),
            server.extensions().end());

  inference::ModelMetadataRequest mreq;
  mreq.set_name("yolox-nano");
  inference::ModelMetadataResponse meta;
  ASSERT_TRUE(stub().ModelMetadata(&c4, mreq, &meta).ok());
  ASSERT_EQ(meta.inputs_size(), 1);
  EXPECT_EQ(meta.inputs(0).name(), "images");
  EXPECT_EQ(meta.inputs(0).datatype(), "FP32");
  EXPECT_EQ(std::vector<int64_t>(meta.inputs(0).shape().begin(), meta.inputs(0).shape().end()),
            (std::vector<int64_t>{-1, 3, 416, 416}));
  ASSERT_EQ(meta.outputs_size(), 1);
  EXPECT_EQ(std::vector<int64_t>(meta.outputs(0).shape().begin(), meta.outputs(0).shape().end()),
            (std::vector<int64_t>{-1, 3549, 85}));

  inference::ModelReadyRequest rreq;
  rreq.set_name("yolox-nano-detect");
  inference::ModelReadyResponse rresp;
  ASSERT_TRUE(stub().ModelReady(&c5, rreq, &rresp).ok());
  EXPECT_TRUE(rresp.ready());
  rreq.set_name("no-such-model");
  EXPECT_EQ(stub().ModelReady(&c6, rreq, &rresp).error_code(), grpc::StatusCode::NOT_FOUND);
}

// The system shared memory extension lets a client make the server map and overwrite shm objects, so it is
// off unless the server is started with it (Options::shared_memory; --grpc-shared-memory).
TEST_F(KServeGrpcTest, SharedMemoryIsOffByDefault) {
  grpc::ClientContext c1, c2;
  inference::ServerMetadataResponse server;
  ASSERT_TRUE(stub().ServerMetadata(&c1, {}, &server).ok());
  EXPECT_EQ(std::find(server.extensions().begin(), server.extensions().end(), "system_shared_memory"),
            server.extensions().end());
  inference::SystemSharedMemoryRegisterRequest q;
  q.set_name("region");
  q.set_key("/accel_should_not_open");
  q.set_byte_size(16);
  inference::SystemSharedMemoryRegisterResponse r;
  EXPECT_EQ(stub().SystemSharedMemoryRegister(&c2, q, &r).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(KServeGrpcTest, DetectEntryPointMatchesAiInfer) {
  for (const char* name : {"000000000139.jpg", "000000000632.jpg", "000000001268.jpg"}) {
    SCOPED_TRACE(name);
    const std::string jpeg = ReadFile(ImagePath(name));
    ASSERT_FALSE(jpeg.empty());
    const auto reference = AiInfer(jpeg);
    ASSERT_FALSE(reference.empty());
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    grpc::Status s = stub().ModelInfer(&context, DetectRequest(jpeg), &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response.id(), "req-1");
    ASSERT_EQ(response.outputs_size(), 5);
    ASSERT_EQ(response.raw_output_contents_size(), 5);
    std::map<std::string, std::string> raw;
    for (int i = 0; i < response.outputs_size(); ++i)
      raw[response.outputs(i).name()] = response.raw_output_contents(i);
    auto count = As<int32_t>(raw["count"]);
    ASSERT_EQ(count.size(), 1u);
    EXPECT_EQ(count[0], static_cast<int32_t>(reference.size()));
    auto labels_raw = SplitBytesElements(raw["labels"]);
    ASSERT_TRUE(labels_raw.ok());
    std::vector<std::string> labels(labels_raw->begin(), labels_raw->end());
    ExpectSameDetections(reference, As<float>(raw["boxes"]), As<float>(raw["scores"]), labels);
  }
}

TEST_F(KServeGrpcTest, RawTensorInferMatchesAiInfer) {
  const std::string jpeg = ReadFile(ImagePath("000000000139.jpg"));
  const auto reference = AiInfer(jpeg);
  auto image = DecodeImage(reinterpret_cast<const uint8_t*>(jpeg.data()), jpeg.size());
  ASSERT_TRUE(image.ok());
  LetterboxTransform transform;
  auto tensor = PrepareInput(*image, g_service->core.model.input, &transform);
  ASSERT_TRUE(tensor.ok());

  inference::ModelInferRequest request;
  request.set_model_name("yolox-nano");
  auto* in = request.add_inputs();
  in->set_name("images");
  in->set_datatype("FP32");
  for (int64_t d : tensor->shape()) in->add_shape(d);
  request.add_raw_input_contents(
      std::string(reinterpret_cast<const char*>(tensor->bytes()), tensor->byte_size()));
  grpc::ClientContext context;
  inference::ModelInferResponse response;
  grpc::Status s = stub().ModelInfer(&context, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).name(), "output");
  EXPECT_EQ(std::vector<int64_t>(response.outputs(0).shape().begin(), response.outputs(0).shape().end()),
            (std::vector<int64_t>{1, 3549, 85}));
  const std::string& raw = response.raw_output_contents(0);
  Tensor out(DType::kFloat32, {1, 3549, 85}, "output");
  ASSERT_EQ(raw.size(), out.byte_size());
  std::memcpy(out.bytes(), raw.data(), raw.size());
  TensorList outputs;
  outputs.push_back(std::move(out));
  DetectionFilter filter;
  filter.threshold = 0.4f;
  auto dets = DecodeDetections(g_service->core.model, outputs, transform, filter);
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  std::vector<float> boxes, scores;
  std::vector<std::string> labels;
  for (const auto& d : *dets) {
    boxes.insert(boxes.end(), {d.box.x_min, d.box.y_min, d.box.x_max, d.box.y_max});
    scores.push_back(d.confidence);
    labels.push_back(d.label);
  }
  ExpectSameDetections(reference, boxes, scores, labels);
}

TEST_F(KServeGrpcTest, MalformedRequestsGetProtocolErrorsAndTheServerKeepsServing) {
  const std::string jpeg = ReadFile(ImagePath("000000000285.jpg"));
  struct Case {
    const char* what;
    std::function<void(inference::ModelInferRequest&)> mutate;
    grpc::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"unknown model", [](auto& r) { r.set_model_name("nope"); }, grpc::StatusCode::NOT_FOUND},
      {"unknown version", [](auto& r) { r.set_model_version("7"); }, grpc::StatusCode::NOT_FOUND},
      {"wrong dtype", [](auto& r) { r.mutable_inputs(0)->set_datatype("FP32"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"wrong shape", [](auto& r) { r.mutable_inputs(0)->add_shape(2); }, grpc::StatusCode::INVALID_ARGUMENT},
      {"wrong input name", [](auto& r) { r.mutable_inputs(0)->set_name("img"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"truncated BYTES element",
       [](auto& r) { r.mutable_raw_input_contents(0)->resize(r.raw_input_contents(0).size() - 10); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"raw contents count", [](auto& r) { r.add_raw_input_contents("x"); },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"not an image",
       [](auto& r) { *r.mutable_raw_input_contents(0) = std::string("\x05\x00\x00\x00hello", 9); },
       grpc::StatusCode::INVALID_ARGUMENT},
      // The element count of [2^63-1, 2^63-1] used to wrap to 1 and be accepted.
      {"shape overflowing int64",
       [](auto& r) {
         r.mutable_inputs(0)->clear_shape();
         r.mutable_inputs(0)->add_shape(INT64_MAX);
         r.mutable_inputs(0)->add_shape(INT64_MAX);
       },
       grpc::StatusCode::INVALID_ARGUMENT},
      {"max_results 1e20", [](auto& r) { (*r.mutable_parameters())["max_results"].set_double_param(1e20); },
       grpc::StatusCode::INVALID_ARGUMENT},
  };
  for (const auto& c : cases) {
    auto request = DetectRequest(jpeg);
    c.mutate(request);
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    grpc::Status s = stub().ModelInfer(&context, request, &response);
    EXPECT_EQ(s.error_code(), c.code) << c.what << ": " << s.error_message();
    EXPECT_FALSE(s.error_message().empty()) << c.what;
  }
  // Raw model: wrong byte count and wrong dtype.
  inference::ModelInferRequest raw;
  raw.set_model_name("yolox-nano");
  auto* in = raw.add_inputs();
  in->set_name("images");
  in->set_datatype("FP32");
  for (int64_t d : {1, 3, 416, 416}) in->add_shape(d);
  raw.add_raw_input_contents(std::string(100, '\0'));
  {
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    EXPECT_EQ(stub().ModelInfer(&context, raw, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  in->set_datatype("UINT8");
  raw.set_raw_input_contents(0, std::string(3 * 416 * 416, '\0'));
  {
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    grpc::Status s = stub().ModelInfer(&context, raw, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("FP32"), std::string::npos) << s.error_message();
  }
  // Still serving.
  grpc::ClientContext context;
  inference::ModelInferResponse response;
  grpc::Status s = stub().ModelInfer(&context, DetectRequest(jpeg), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(As<int32_t>(response.raw_output_contents(4))[0], 1);  // the bear
}

// The server reads ModelInfer's wire bytes itself (zero-copy path): bytes that are not a valid message must
// be refused with INVALID_ARGUMENT, and a request whose raw contents arrive in several slices must still
// work.
TEST_F(KServeGrpcTest, MalformedWireBytesAreInvalidArgumentAndTheServerKeepsServing) {
  grpc::GenericStub generic(g_service->channel);
  auto call = [&](const std::string& bytes, grpc::ByteBuffer* response) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::CompletionQueue cq;
    grpc::ClientContext context;
    grpc::Status status;
    auto rpc = generic.PrepareUnaryCall(&context, "/inference.GRPCInferenceService/ModelInfer", request, &cq);
    rpc->StartCall();
    rpc->Finish(response, &status, &cq);
    void* tag;
    bool ok;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return status;
  };
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"truncated varint", std::string("\x0a\x80", 2)},
      {"length past the end", std::string("\x0a\x10yolox", 7)},
      {"raw contents past the end", std::string("\x3a\xff\xff\x7f\x01\x02", 6)},
      {"raw contents as a varint", std::string("\x38\x01", 2)},
      {"group wire type", std::string("\x0b\x0c", 2)},
      {"field number 0", std::string("\x02\x00", 2)},
  };
  for (const auto& [what, bytes] : cases) {
    grpc::ByteBuffer response;
    grpc::Status s = call(bytes, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << what << ": " << s.error_message();
  }
  // Well-formed again: the header fields after the raw contents, which are referenced in pieces.
  inference::ModelInferRequest header;
  header.set_model_name("yolox-nano");
  auto* in = header.add_inputs();
  in->set_name("images");
  in->set_datatype("FP32");
  for (int64_t d : {1, 3, 416, 416}) in->add_shape(d);
  const std::string payload(3 * 416 * 416 * 4, '\0');
  const std::string wire =
      LengthDelimitedPrefix(kRawInputContentsField, payload.size()) + payload + header.SerializeAsString();
  grpc::ByteBuffer response;
  grpc::Status s = call(wire, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  grpc::Slice flat;
  ASSERT_TRUE(response.TrySingleSlice(&flat).ok() || response.DumpToSingleSlice(&flat).ok());
  inference::ModelInferResponse parsed;
  ASSERT_TRUE(parsed.ParseFromArray(flat.begin(), static_cast<int>(flat.size())));
  ASSERT_EQ(parsed.raw_output_contents_size(), 1);
  EXPECT_EQ(parsed.raw_output_contents(0).size(), size_t{3549} * 85 * 4);
}

TEST_F(KServeGrpcTest, StreamAnswersEveryRequestWithErrorsInBand) {
  const std::string jpeg = ReadFile(ImagePath("000000000285.jpg"));
  grpc::ClientContext context;
  auto stream = stub().ModelStreamInfer(&context);
  auto good = DetectRequest(jpeg);
  good.set_id("a");
  auto bad = DetectRequest(jpeg);
  bad.set_id("b");
  bad.set_model_name("nope");
  ASSERT_TRUE(stream->Write(good));
  ASSERT_TRUE(stream->Write(bad));
  stream->WritesDone();
  std::map<std::string, inference::ModelStreamInferResponse> got;
  inference::ModelStreamInferResponse r;
  while (stream->Read(&r)) got[r.infer_response().id()] = r;
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got["a"].error_message().empty()) << got["a"].error_message();
  EXPECT_EQ(got["a"].infer_response().outputs_size(), 5);
  EXPECT_NE(got["b"].error_message().find("unknown model"), std::string::npos);
}

TEST_F(KServeGrpcTest, HttpHealthAndUnknownModel) {
  testing::TestClient client(g_service->http->port());
  EXPECT_EQ(client.Get("/v2/health/live").result_int(), 200);
  EXPECT_EQ(client.Get("/v2/health/ready").result_int(), 200);
  EXPECT_EQ(client.Get("/v2/models/yolox-nano/ready").result_int(), 200);
  EXPECT_EQ(client.Get("/v2/models/nope/ready").result_int(), 400);
  auto r = client.Get("/v2/models/nope");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_TRUE(json::parse(r.body()).contains("error"));
}

}  // namespace
}  // namespace accel
