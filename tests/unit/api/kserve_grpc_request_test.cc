// ModelInferRequest -> KServeRequest on both gRPC paths (api/kserve_grpc_request.h), without a gRPC server.
#include "api/kserve_grpc_request.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

namespace accel {
namespace {

std::vector<std::string_view> Cut(const std::string& wire, size_t piece) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < wire.size(); i += piece) out.push_back(std::string_view(wire).substr(i, piece));
  return out;
}

inference::ModelInferRequest RawRequest(std::string raw) {
  inference::ModelInferRequest r;
  r.set_model_name("m");
  r.set_id("id-7");
  (*r.mutable_parameters())["threshold"].set_double_param(0.25);
  auto* in = r.add_inputs();
  in->set_name("images");
  in->set_datatype("UINT8");
  for (int64_t d : {1, 2, 3}) in->add_shape(d);
  r.add_raw_input_contents(std::move(raw));
  r.add_outputs()->set_name("output");
  return r;
}

TEST(KServeGrpcRequestTest, WireAndMessagePathsAgree) {
  const inference::ModelInferRequest message = RawRequest("abcdef");
  const std::string wire = message.SerializeAsString();
  KServeShmRequest shm;
  KServeRequest typed;
  std::deque<std::string> typed_storage;
  ASSERT_TRUE(ConvertModelInferRequest(message, typed, typed_storage, shm).ok());
  for (size_t piece : {size_t{1}, size_t{5}, wire.size()}) {
    inference::ModelInferRequest header;
    KServeRequest out;
    std::deque<std::string> storage;
    Status s = ConvertModelInferWire(WireSegments(Cut(wire, piece)), header, out, storage, shm);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(out.model, "m");
    EXPECT_EQ(out.id, "id-7");
    EXPECT_EQ(out.parameters, typed.parameters);
    ASSERT_EQ(out.inputs.size(), 1u);
    EXPECT_EQ(out.inputs[0].data, typed.inputs[0].data);
    EXPECT_EQ(out.inputs[0].shape, (std::vector<int64_t>{1, 2, 3}));
    // The one raw input became the scheduler's Tensor, and data views it.
    ASSERT_NE(out.inputs[0].tensor, nullptr);
    EXPECT_EQ(static_cast<const void*>(out.inputs[0].data.data()), out.inputs[0].tensor->bytes());
    EXPECT_TRUE(out.outputs_as_tensors);
    EXPECT_EQ(out.requested_outputs, (std::vector<std::string>{"output"}));
  }
}

TEST(KServeGrpcRequestTest, BothPathsGiveTheSameErrors) {
  const inference::ModelInferRequest message = RawRequest("abc");  // shape [1,2,3] needs 6 bytes
  const std::string wire = message.SerializeAsString();
  KServeShmRequest shm;
  KServeRequest a, b;
  std::deque<std::string> sa, sb;
  inference::ModelInferRequest header;
  const Status typed = ConvertModelInferRequest(message, a, sa, shm);
  const Status raw = ConvertModelInferWire(WireSegments(Cut(wire, 3)), header, b, sb, shm);
  EXPECT_EQ(typed.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(typed.message(), raw.message());
}

TEST(KServeGrpcRequestTest, MalformedWireAndSharedMemoryWithoutRegistry) {
  KServeShmRequest shm;
  KServeRequest out;
  std::deque<std::string> storage;
  inference::ModelInferRequest header;
  const std::string truncated = RawRequest("abcdef").SerializeAsString().substr(0, 20);
  EXPECT_EQ(ConvertModelInferWire(WireSegments({truncated}), header, out, storage, shm).code(),
            StatusCode::kInvalidArgument);

  inference::ModelInferRequest in_shm = RawRequest("");
  in_shm.clear_raw_input_contents();
  auto& params = *in_shm.mutable_inputs(0)->mutable_parameters();
  params["shared_memory_region"].set_string_param("r");
  params["shared_memory_byte_size"].set_uint64_param(6);
  KServeRequest shm_out;
  // Without a registry (shm off, or a TCP peer) a region is refused, and the request says so, so that the
  // server answers PERMISSION_DENIED.
  EXPECT_EQ(ConvertModelInferRequest(in_shm, shm_out, storage, shm).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(shm.refused);
  SharedMemoryRegistry empty;
  KServeShmRequest with_registry{&empty, {}};
  EXPECT_EQ(ConvertModelInferRequest(in_shm, shm_out, storage, with_registry).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace accel
