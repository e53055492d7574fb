// The system shared memory extension of the KServe gRPC front end, in-process with the real CPU engine: a
// test-created POSIX shm object is registered over the server's Unix socket, ModelInfer reads its input from
// it and writes its output into it, and the bytes must equal what the raw_input_contents /
// raw_output_contents path returns. The access rules: TCP peers refused, the socket file owner-only, objects
// of another user refused, caps on regions and bytes.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "api/kserve_common.h"
#include "api/kserve_grpc_server.h"
#include "api/shared_memory_registry.h"
#include "core/model_config.h"
#include "core/thread_pool.h"
#include "engines/cpu/cpu_engine.h"
#include "grpc_service.grpc.pb.h"
#include "pipeline/detection_pipeline.h"
#include "protocol_test_core.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

constexpr size_t kInputBytes = size_t{3} * 416 * 416 * 4;  // yolox-nano "images" FP32 [1,3,416,416]
constexpr size_t kOutputBytes = size_t{3549} * 85 * 4;     // "output" FP32 [1,3549,85]
constexpr size_t kInputOffset = 100;                       // deliberately not page-aligned
constexpr size_t kOutputOffset = kInputOffset + kInputBytes + 12;
constexpr size_t kObjectBytes = kOutputOffset + kOutputBytes + 64;

constexpr size_t kMaxRegions = 3;  // the suite's server cap (Options::shm_max_regions)

// A private directory for the server's Unix socket, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "accel_shm_test.XXXXXX").string();
    if (mkdtemp(pattern.data())) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A POSIX shm object created (and unlinked) by the test, mapped read-write.
class ShmObject {
 public:
  explicit ShmObject(size_t size)
      : key_("/accel_shm_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++)), size_(size) {
    const int fd = shm_open(key_.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return;
    if (ftruncate(fd, static_cast<off_t>(size)) == 0)
      base_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (base_ == MAP_FAILED) base_ = nullptr;
  }
  ~ShmObject() {
    if (base_) munmap(base_, size_);
    shm_unlink(key_.c_str());
  }
  const std::string& key() const { return key_; }
  uint8_t* data() const { return static_cast<uint8_t*>(base_); }
  // Hands the object to another user (needs root); false when that is not possible here.
  bool GiveTo(uid_t uid) const {
    const int fd = shm_open(key_.c_str(), O_RDWR, 0);
    if (fd < 0) return false;
    const bool ok = fchown(fd, uid, static_cast<gid_t>(-1)) == 0;
    close(fd);
    return ok;
  }

 private:
  static inline int counter_ = 0;
  std::string key_;
  size_t size_;
  void* base_ = nullptr;
};

// The server listens on a TCP port and on a Unix socket; shared memory works only through the socket.
struct Service {
  TempDir dir;
  ProtocolTestCore core;
  std::unique_ptr<KServeGrpcServer> grpc;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub;      // over the Unix socket
  std::unique_ptr<inference::GRPCInferenceService::Stub> tcp_stub;  // over TCP: refused for shm

  std::string socket_path() const { return dir.path() + "/grpc.sock"; }

  Status Start() {
    if (dir.path().empty()) return Internal("mkdtemp failed");
    ACCEL_ASSIGN_OR_RETURN(auto engine, MakeTestCpuEngine());
    ACCEL_RETURN_IF_ERROR(core.Start(std::move(engine)));
    KServeGrpcServer::Options options{"127.0.0.1", 0};
    options.listen_addresses = {"unix:" + socket_path()};
    options.shared_memory = true;
    options.shm_max_regions = kMaxRegions;
    grpc = std::make_unique<KServeGrpcServer>(core.context(), core.backend(), options);
    ACCEL_RETURN_IF_ERROR(grpc->Start());
    stub = inference::GRPCInferenceService::NewStub(
        grpc::CreateChannel("unix:" + socket_path(), grpc::InsecureChannelCredentials()));
    tcp_stub = inference::GRPCInferenceService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc->port()), grpc::InsecureChannelCredentials()));
    return Status::Ok();
  }
  ~Service() {
    if (grpc) grpc->Stop();
  }
};

Service* g_service = nullptr;

class KServeShmTest : public ::testing::Test {
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
  void TearDown() override {
    if (!g_service) return;
    inference::SystemSharedMemoryUnregisterRequest all;  // empty name: every region
    inference::SystemSharedMemoryUnregisterResponse r;
    grpc::ClientContext c;
    EXPECT_TRUE(stub().SystemSharedMemoryUnregister(&c, all, &r).ok());
  }

  inference::GRPCInferenceService::Stub& stub() { return *g_service->stub; }
  inference::GRPCInferenceService::Stub& tcp_stub() { return *g_service->tcp_stub; }

  grpc::Status Register(const std::string& name, const std::string& key, uint64_t offset, uint64_t size,
                        bool over_tcp = false) {
    inference::SystemSharedMemoryRegisterRequest q;
    q.set_name(name);
    q.set_key(key);
    q.set_offset(offset);
    q.set_byte_size(size);
    inference::SystemSharedMemoryRegisterResponse r;
    grpc::ClientContext c;
    return (over_tcp ? tcp_stub() : stub()).SystemSharedMemoryRegister(&c, q, &r);
  }
  grpc::Status Unregister(const std::string& name, bool over_tcp = false) {
    inference::SystemSharedMemoryUnregisterRequest q;
    q.set_name(name);
    inference::SystemSharedMemoryUnregisterResponse r;
    grpc::ClientContext c;
    return (over_tcp ? tcp_stub() : stub()).SystemSharedMemoryUnregister(&c, q, &r);
  }

  static void SetShm(google::protobuf::Map<std::string, inference::InferParameter>& p,
                     const std::string& region, int64_t size, int64_t offset) {
    p["shared_memory_region"].set_string_param(region);
    p["shared_memory_byte_size"].set_int64_param(size);
    if (offset >= 0) p["shared_memory_offset"].set_int64_param(offset);
  }

  // A request for yolox-nano's native tensors; input and output in shm when their region is non-empty.
  static inference::ModelInferRequest MakeRequest(const std::string& in_region, int64_t in_size,
                                                  int64_t in_offset, const std::string& out_region,
                                                  int64_t out_size, int64_t out_offset) {
    inference::ModelInferRequest q;
    q.set_model_name("yolox-nano");
    auto* in = q.add_inputs();
    in->set_name("images");
    in->set_datatype("FP32");
    for (int64_t d : {1, 3, 416, 416}) in->add_shape(d);
    if (!in_region.empty()) SetShm(*in->mutable_parameters(), in_region, in_size, in_offset);
    auto* out = q.add_outputs();
    out->set_name("output");
    if (!out_region.empty()) SetShm(*out->mutable_parameters(), out_region, out_size, out_offset);
    return q;
  }

  grpc::Status Infer(const inference::ModelInferRequest& q, inference::ModelInferResponse& r,
                     bool over_tcp = false) {
    grpc::ClientContext c;
    return (over_tcp ? tcp_stub() : stub()).ModelInfer(&c, q, &r);
  }
};

std::vector<float> RandomInput() {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> dist(0.f, 255.f);
  std::vector<float> v(kInputBytes / 4);
  for (float& x : v) x = dist(rng);
  return v;
}

TEST_F(KServeShmTest, InputAndOutputInShmEqualRawContentsPath) {
  ShmObject shm(kObjectBytes);
  ASSERT_NE(shm.data(), nullptr);
  const std::vector<float> input = RandomInput();
  std::memcpy(shm.data() + kInputOffset, input.data(), kInputBytes);
  std::memset(shm.data() + kOutputOffset, 0xAB, kOutputBytes);
  // Two regions of one object, at offsets that are not page-aligned.
  ASSERT_TRUE(Register("in", shm.key(), kInputOffset, kInputBytes).ok());
  ASSERT_TRUE(Register("out", shm.key(), kOutputOffset - 8, kOutputBytes + 8).ok());

  inference::SystemSharedMemoryStatusRequest sq;
  inference::SystemSharedMemoryStatusResponse sr;
  grpc::ClientContext sc;
  ASSERT_TRUE(stub().SystemSharedMemoryStatus(&sc, sq, &sr).ok());
  ASSERT_EQ(sr.regions_size(), 2);
  EXPECT_EQ(sr.regions().at("in").key(), shm.key());
  EXPECT_EQ(sr.regions().at("in").offset(), kInputOffset);
  EXPECT_EQ(sr.regions().at("out").byte_size(), kOutputBytes + 8);

  inference::ModelInferResponse via_shm;
  grpc::Status s = Infer(MakeRequest("in", kInputBytes, -1, "out", kOutputBytes, 8), via_shm);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(via_shm.outputs_size(), 1);  // the metadata stays in the response...
  EXPECT_EQ(via_shm.outputs(0).name(), "output");
  EXPECT_EQ(std::vector<int64_t>(via_shm.outputs(0).shape().begin(), via_shm.outputs(0).shape().end()),
            (std::vector<int64_t>{1, 3549, 85}));
  EXPECT_EQ(via_shm.raw_output_contents_size(), 0);  // ...the bytes do not

  inference::ModelInferRequest raw_request = MakeRequest("", 0, -1, "", 0, -1);
  raw_request.add_raw_input_contents(std::string(reinterpret_cast<const char*>(input.data()), kInputBytes));
  inference::ModelInferResponse via_raw;
  s = Infer(raw_request, via_raw);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(via_raw.raw_output_contents_size(), 1);
  const std::string& expected = via_raw.raw_output_contents(0);
  ASSERT_EQ(expected.size(), kOutputBytes);
  std::vector<float> a(kOutputBytes / 4), b(kOutputBytes / 4);
  std::memcpy(a.data(), expected.data(), kOutputBytes);
  std::memcpy(b.data(), shm.data() + kOutputOffset, kOutputBytes);
  float max_diff = 0;
  size_t nonzero = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(a[i] - b[i]));
    if (a[i] != 0) ++nonzero;
  }
  EXPECT_LE(max_diff, 1e-4f);
  EXPECT_GT(nonzero, a.size() / 2);  // a real output, not a buffer of zeros
  // Nothing written past the window.
  for (size_t i = kOutputOffset + kOutputBytes; i < kObjectBytes; ++i) ASSERT_EQ(shm.data()[i], 0) << i;
}

TEST_F(KServeShmTest, StreamInferUsesShmToo) {
  ShmObject shm(kObjectBytes);
  ASSERT_NE(shm.data(), nullptr);
  const std::vector<float> input = RandomInput();
  std::memcpy(shm.data() + kInputOffset, input.data(), kInputBytes);
  ASSERT_TRUE(Register("in", shm.key(), kInputOffset, kInputBytes).ok());
  ASSERT_TRUE(Register("out", shm.key(), kOutputOffset, kOutputBytes).ok());
  inference::ModelInferResponse unary;
  ASSERT_TRUE(Infer(MakeRequest("in", kInputBytes, -1, "out", kOutputBytes, -1), unary).ok());
  const std::vector<uint8_t> expected(shm.data() + kOutputOffset, shm.data() + kOutputOffset + kOutputBytes);
  std::memset(shm.data() + kOutputOffset, 0, kOutputBytes);

  grpc::ClientContext c;
  auto stream = stub().ModelStreamInfer(&c);
  auto q = MakeRequest("in", kInputBytes, -1, "out", kOutputBytes, -1);
  q.set_id("s1");
  ASSERT_TRUE(stream->Write(q));
  ASSERT_TRUE(stream->WritesDone());
  inference::ModelStreamInferResponse r;
  ASSERT_TRUE(stream->Read(&r));
  EXPECT_EQ(r.error_message(), "");
  EXPECT_EQ(r.infer_response().id(), "s1");
  EXPECT_EQ(r.infer_response().outputs_size(), 1);
  EXPECT_EQ(r.infer_response().raw_output_contents_size(), 0);
  EXPECT_TRUE(stream->Finish().ok());
  std::vector<float> a(kOutputBytes / 4), b(kOutputBytes / 4);
  std::memcpy(a.data(), expected.data(), kOutputBytes);
  std::memcpy(b.data(), shm.data() + kOutputOffset, kOutputBytes);
  float max_diff = 0;
  for (size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, std::fabs(a[i] - b[i]));
  EXPECT_LE(max_diff, 1e-4f);
  EXPECT_NE(std::count(b.begin(), b.end(), 0.f), static_cast<std::ptrdiff_t>(b.size()));  // written
}

TEST_F(KServeShmTest, ErrorsLeaveTheServerServing) {
  ShmObject shm(kObjectBytes);
  ASSERT_NE(shm.data(), nullptr);
  ASSERT_TRUE(Register("in", shm.key(), kInputOffset, kInputBytes).ok());
  ASSERT_TRUE(Register("out", shm.key(), kOutputOffset, kOutputBytes).ok());

  EXPECT_EQ(Register("in", shm.key(), 0, 16).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Register("x", "/accel_shm_test_no_such_key", 0, 16).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Register("x", shm.key(), 0, kObjectBytes + 1).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Register("x", shm.key(), UINT64_MAX, 16).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Register("x", shm.key(), 0, 0).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Unregister("nope").error_code(), grpc::StatusCode::NOT_FOUND);

  struct Case {
    const char* what;
    inference::ModelInferRequest request;
    grpc::StatusCode code;
  };
  const int64_t in = kInputBytes, out = kOutputBytes;
  std::vector<Case> cases = {
      {"unknown input region", MakeRequest("nope", in, -1, "out", out, -1), grpc::StatusCode::NOT_FOUND},
      {"unknown output region", MakeRequest("in", in, -1, "nope", out, -1), grpc::StatusCode::NOT_FOUND},
      {"input offset out of bounds", MakeRequest("in", in, 4, "out", out, -1),
       grpc::StatusCode::INVALID_ARGUMENT},
      {"huge offset", MakeRequest("in", in, INT64_MAX, "out", out, -1), grpc::StatusCode::INVALID_ARGUMENT},
      {"wrong input byte size", MakeRequest("in", in - 4, -1, "out", out, -1),
       grpc::StatusCode::INVALID_ARGUMENT},
      {"output window too small", MakeRequest("in", in, -1, "out", out - 4, -1),
       grpc::StatusCode::INVALID_ARGUMENT},
      {"output offset out of bounds", MakeRequest("in", in, -1, "out", out, 1),
       grpc::StatusCode::INVALID_ARGUMENT},
  };
  {
    auto q = MakeRequest("in", in, -1, "out", out, -1);
    (*q.mutable_inputs(0)->mutable_parameters())["shared_memory_offset"].set_int64_param(-1);
    cases.push_back({"negative offset parameter", q, grpc::StatusCode::INVALID_ARGUMENT});
    auto r = MakeRequest("in", in, -1, "out", out, -1);
    r.add_raw_input_contents(std::string(kInputBytes, '\0'));
    cases.push_back({"raw contents for an input in shm", r, grpc::StatusCode::INVALID_ARGUMENT});
  }
  for (const auto& c : cases) {
    inference::ModelInferResponse r;
    EXPECT_EQ(Infer(c.request, r).error_code(), c.code) << c.what;
  }

  inference::SystemSharedMemoryStatusRequest sq;
  sq.set_name("nope");
  inference::SystemSharedMemoryStatusResponse sr;
  grpc::ClientContext sc;
  EXPECT_EQ(stub().SystemSharedMemoryStatus(&sc, sq, &sr).error_code(), grpc::StatusCode::NOT_FOUND);

  inference::CudaSharedMemoryRegisterRequest cq;
  cq.set_name("gpu");
  inference::CudaSharedMemoryRegisterResponse cr;
  grpc::ClientContext cc;
  EXPECT_EQ(stub().CudaSharedMemoryRegister(&cc, cq, &cr).error_code(), grpc::StatusCode::UNIMPLEMENTED);

  // Unregister, then use: the name is gone.
  ASSERT_TRUE(Unregister("in").ok());
  inference::ModelInferResponse r;
  EXPECT_EQ(Infer(MakeRequest("in", in, -1, "out", out, -1), r).error_code(), grpc::StatusCode::NOT_FOUND);

  // Still serving: register again and infer.
  ASSERT_TRUE(Register("in", shm.key(), kInputOffset, kInputBytes).ok());
  grpc::Status s = Infer(MakeRequest("in", in, -1, "out", out, -1), r);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

// The finding this rule fixes: a TCP client made the server write into a shared memory object. Every shm
// RPC and every ModelInfer naming a region is refused to TCP peers, with a message that says why; the Unix
// socket peer registered the regions and is served.
TEST_F(KServeShmTest, TcpPeersAreRefused) {
  ShmObject shm(kObjectBytes);
  ASSERT_NE(shm.data(), nullptr);
  grpc::Status s = Register("in", shm.key(), kInputOffset, kInputBytes, /*over_tcp=*/true);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("Unix socket"), std::string::npos) << s.error_message();

  ASSERT_TRUE(Register("in", shm.key(), kInputOffset, kInputBytes).ok());
  ASSERT_TRUE(Register("out", shm.key(), kOutputOffset, kOutputBytes).ok());
  std::memset(shm.data() + kOutputOffset, 0x5A, kOutputBytes);

  EXPECT_EQ(Unregister("in", /*over_tcp=*/true).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  {
    inference::SystemSharedMemoryStatusRequest q;
    inference::SystemSharedMemoryStatusResponse r;
    grpc::ClientContext c;
    EXPECT_EQ(tcp_stub().SystemSharedMemoryStatus(&c, q, &r).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(r.regions_size(), 0);
  }
  const int64_t in = kInputBytes, out = kOutputBytes;
  inference::ModelInferResponse r;
  inference::ModelInferRequest raw_in_shm_out = MakeRequest("", 0, -1, "out", out, -1);
  raw_in_shm_out.add_raw_input_contents(std::string(kInputBytes, '\0'));
  s = Infer(raw_in_shm_out, r, /*over_tcp=*/true);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << "an output region written for a TCP peer";
  s = Infer(MakeRequest("in", in, -1, "", 0, -1), r, /*over_tcp=*/true);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << "an input region read for a TCP peer";
  for (size_t i = kOutputOffset; i < kOutputOffset + kOutputBytes; ++i)
    ASSERT_EQ(shm.data()[i], 0x5A) << "the server wrote into the object for a TCP peer";
  {
    grpc::ClientContext c;
    auto stream = tcp_stub().ModelStreamInfer(&c);
    ASSERT_TRUE(stream->Write(MakeRequest("in", in, -1, "out", out, -1)));
    ASSERT_TRUE(stream->WritesDone());
    inference::ModelStreamInferResponse sr;
    ASSERT_TRUE(stream->Read(&sr));
    EXPECT_NE(sr.error_message().find("Unix socket"), std::string::npos) << sr.error_message();
    EXPECT_TRUE(stream->Finish().ok());
  }
  // Still registered (the TCP Unregister did nothing), and usable over the socket.
  s = Infer(MakeRequest("in", in, -1, "out", out, -1), r);
  EXPECT_TRUE(s.ok()) << s.error_message();
  // A plain TCP inference (no shm) is unaffected.
  inference::ModelInferRequest raw = MakeRequest("", 0, -1, "", 0, -1);
  raw.add_raw_input_contents(std::string(kInputBytes, '\0'));
  s = Infer(raw, r, /*over_tcp=*/true);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(KServeShmTest, SocketFileIsOwnerOnly) {
  struct stat st {};
  ASSERT_EQ(stat(g_service->socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KServeShmTest, RegionCapIsEnforcedAndUnregisterFreesIt) {
  ShmObject shm(kObjectBytes);
  ASSERT_NE(shm.data(), nullptr);
  for (size_t i = 0; i < kMaxRegions; ++i)
    ASSERT_TRUE(Register("r" + std::to_string(i), shm.key(), 0, 64).ok());
  grpc::Status s = Register("one-too-many", shm.key(), 0, 64);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("--grpc-shm-max-regions"), std::string::npos) << s.error_message();
  ASSERT_TRUE(Unregister("r0").ok());
  EXPECT_TRUE(Register("one-too-many", shm.key(), 0, 64).ok());
}

TEST_F(KServeShmTest, ObjectOfAnotherUserIsRefused) {
  ShmObject shm(kObjectBytes);
  ASSERT_NE(shm.data(), nullptr);
  if (!shm.GiveTo(65534)) GTEST_SKIP() << "cannot chown a shm object here (not root)";
  grpc::Status s = Register("theirs", shm.key(), 0, 64);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("owned by uid 65534"), std::string::npos) << s.error_message();
}

TEST_F(KServeShmTest, SharedMemoryNeedsAUnixSocket) {
  KServeGrpcServer::Options options{"127.0.0.1", 0};
  options.shared_memory = true;
  KServeGrpcServer tcp_only(g_service->core.context(), g_service->core.backend(), options);
  Status s = tcp_only.Start();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--grpc-listen unix:"), std::string::npos) << s.message();
}

TEST(SharedMemoryRegistryTest, CapsOnRegionsAndBytes) {
  ShmObject shm(8192);
  ASSERT_NE(shm.data(), nullptr);
  SharedMemoryRegistry registry(SharedMemoryRegistry::Options{.max_regions = 2, .max_total_bytes = 5000});
  ASSERT_TRUE(registry.Register("a", shm.key(), 0, 3000).ok());
  EXPECT_EQ(registry.Register("b", shm.key(), 0, 2001).code(), StatusCode::kResourceExhausted);  // bytes
  ASSERT_TRUE(registry.Register("b", shm.key(), 0, 2000).ok());
  EXPECT_EQ(registry.Register("c", shm.key(), 0, 1).code(), StatusCode::kResourceExhausted);  // regions
  ASSERT_TRUE(registry.Unregister("a").ok());
  EXPECT_TRUE(registry.Register("c", shm.key(), 0, 3000).ok());
  EXPECT_EQ(registry.Register("d", shm.key(), 0, 1).code(), StatusCode::kResourceExhausted);
  registry.UnregisterAll();
  EXPECT_TRUE(registry.Register("e", shm.key(), 0, 5000).ok());
}

TEST(SharedMemoryRegistryTest, KeysMustBePlainShmNames) {
  ShmObject shm(4096);
  ASSERT_NE(shm.data(), nullptr);
  SharedMemoryRegistry registry;
  for (const std::string& key : {std::string(""), std::string("/"), shm.key().substr(1),
                                 "/dev/shm" + shm.key(), std::string("/.."), std::string("/../etc/passwd")}) {
    Status s = registry.Register("r", key, 0, 16);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "'" << key << "': " << s.ToString();
  }
  EXPECT_TRUE(registry.Register("r", shm.key(), 0, 16).ok());
}

TEST(SharedMemoryRegistryTest, ObjectOwnedByAnotherUserIsRefused) {
  ShmObject shm(4096);
  ASSERT_NE(shm.data(), nullptr);
  if (!shm.GiveTo(65534)) GTEST_SKIP() << "cannot chown a shm object here (not root)";
  SharedMemoryRegistry registry;
  Status s = registry.Register("r", shm.key(), 0, 16);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_EQ(registry.List("")->size(), 0u);
  ASSERT_TRUE(shm.GiveTo(geteuid()));
  EXPECT_TRUE(registry.Register("r", shm.key(), 0, 16).ok());
}

TEST(SharedMemoryRegistryTest, WindowsAreBoundsCheckedWithoutOverflow) {
  ShmObject shm(8192);
  ASSERT_NE(shm.data(), nullptr);
  SharedMemoryRegistry registry;
  ASSERT_TRUE(registry.Register("r", shm.key(), 4000, 1000).ok());
  EXPECT_EQ(registry.Register("r", shm.key(), 0, 10).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(registry.Register("big", shm.key(), 8000, 193).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry.Register("exact", shm.key(), 8000, 192).ok());
  EXPECT_TRUE(registry.Acquire("r", 0, 1000).ok());
  EXPECT_TRUE(registry.Acquire("r", 1000, 0).ok());
  EXPECT_EQ(registry.Acquire("r", 1, 1000).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Acquire("r", 1001, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Acquire("r", UINT64_MAX, 2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Acquire("r", 2, UINT64_MAX).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Acquire("nope", 0, 1).status().code(), StatusCode::kNotFound);

  // A window stays usable while held, even after its region is unregistered.
  auto window = registry.Acquire("r", 10, 4);
  ASSERT_TRUE(window.ok());
  ASSERT_TRUE(registry.Unregister("r").ok());
  std::memcpy(window->data(), "abcd", 4);
  EXPECT_EQ(std::memcmp(shm.data() + 4010, "abcd", 4), 0);
  EXPECT_EQ(registry.Acquire("r", 0, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry.Unregister("r").code(), StatusCode::kNotFound);
  auto list = registry.List("");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "exact");
}

}  // namespace
}  // namespace accel
