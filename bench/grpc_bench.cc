// grpc_bench: what the KServe gRPC front end adds over the raw engine, at concurrency 1, step by step.
// Four paths run the same model on the same device in-process, interleaved so that load drift hits all alike:
//   engine    Engine::Submit of a one-item batch, waited on (the raw engine; the baseline)
//   scheduler Scheduler::Run (queueing, batching, worker hand-off)
//   backend   KServeBackend::Infer with a raw-tensor KServeRequest (checks, input copy, output gather)
//   grpc      ModelInfer through a loopback channel with raw_input_contents / raw_output_contents, exactly
//             as a remote client would (client serialise/parse included), two clients:
//               stock stub   the generated stub and messages (the request message is reused; protobuf still
//                            serialises the 2 MiB input and parses the 1.2 MiB output into strings per call)
//               generic      grpc::GenericStub with a request ByteBuffer serialised once (the input tensor is
//                            referenced, not copied), the response's raw_output_contents located in gRPC's
//                            slices and copied once into a reused float buffer: what a performance-minded
//                            client does, so the row shows the server's cost rather than the client's copies
//
// Each gRPC client runs against two in-process servers: the default one (zero-copy ModelInfer) and one with
// KServeGrpcServer::Options::zero_copy = false (protobuf parses/serialises the whole message: the path
// before). "empty unary call" (ServerLive) is the fixed cost of one call on this channel, for context. The
// zero-copy server also listens on a Unix domain socket (a fresh temp dir); both clients and the empty call
// run over it too ("UDS" rows), interleaved with the TCP rows, to show what loopback TCP costs.
// "gRPC + system shared memory" rows: the zero-copy server, with the input and the output in a POSIX shm
// object registered through SystemSharedMemoryRegister (the KServe/Triton shared memory extension), so only
// the small request/response messages cross the socket. The client writes the input into the region once
// (as a client that preprocesses straight into shared memory would) and copies the output out of it after
// every call (as the generic client copies it out of the response). Over the Unix socket only: the server
// serves shared memory to Unix-socket peers only (a TCP peer's shm calls are refused), so the former
// "TCP + system shared memory" row is gone.
//
//   grpc_bench [--engine=sim|cpu] [--iterations=N] [--sim_ms=5] [--no_tune_malloc] [--server_max_frame=BYTES]
//              [--client_arg=name=int ...]
// sim: a SIMULATED device (fixed latency, zero outputs of the model's real shapes: 2 MB in, 1.2 MB out),
// which isolates the protocol's cost from inference noise. cpu: the real CPU engine on YOLOX-Nano.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <string>
#include <tuple>
#include <vector>

#include "api/kserve_common.h"
#include "api/kserve_grpc_fast_path.h"
#include "api/kserve_grpc_server.h"
#include "core/logging.h"
#include "core/model_config.h"
#include "core/thread_pool.h"
#include "engines/cpu/cpu_engine.h"
#include "engines/sim/sim_engine.h"
#include "grpc_service.grpc.pb.h"
#include "pipeline/detection_pipeline.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

using Clk = std::chrono::steady_clock;

struct Stats {
  double mean = 0, p50 = 0, p99 = 0;
};

Stats Summarise(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  s.p50 = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, static_cast<size_t>(v.size() * 0.99))];
  return s;
}

int Main(int argc, char** argv) {
  std::string engine_kind = "sim";
  int iterations = 300;
  double sim_ms = 5;
  bool tune_malloc = true;
  int server_max_frame = -1;  // -1: the server's default option; 0: gRPC's default (16 KiB)
  std::vector<std::pair<std::string, int>> client_args;  // --client_arg=name=int, on both bench channels
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--engine=", 0) == 0)
      engine_kind = a.substr(9);
    else if (a.rfind("--iterations=", 0) == 0)
      iterations = std::stoi(a.substr(13));
    else if (a.rfind("--sim_ms=", 0) == 0)
      sim_ms = std::stod(a.substr(9));
    else if (a == "--no_tune_malloc")
      tune_malloc = false;
    else if (a.rfind("--server_max_frame=", 0) == 0)
      server_max_frame = std::stoi(a.substr(19));
    else if (a.rfind("--client_arg=", 0) == 0 && a.find('=', 13) != std::string::npos)
      client_args.emplace_back(a.substr(13, a.find('=', 13) - 13), std::stoi(a.substr(a.find('=', 13) + 1)));
    else {
      std::fprintf(stderr,
                   "usage: grpc_bench [--engine=sim|cpu] [--iterations=N] [--sim_ms=5] [--no_tune_malloc] "
                   "[--server_max_frame=BYTES] [--client_arg=name=int ...]\n");
      return 2;
    }
  }
  SetLogLevel(LogLevel::kWarn);
  auto model = LoadModelConfig(std::string(ACCEL_SOURCE_DIR) + "/models/yolox-nano/model.yaml");
  if (!model.ok()) return std::fprintf(stderr, "%s\n", model.status().ToString().c_str()), 1;
  SchedulerOptions options;
  Scheduler scheduler(options);
  // The scheduler owns the engine; the raw pointer is used only for the baseline, never concurrently with
  // scheduler traffic (the loop below is strictly sequential).
  Engine* raw_engine = nullptr;
  if (engine_kind == "sim") {
    SimDeviceSpec spec;
    spec.name = "sim0";
    spec.ms = sim_ms;
    auto engine = MakeSimEngine(spec);
    raw_engine = engine.get();
    if (Status s = scheduler.AddDevice(std::move(engine)); !s.ok()) return 1;
  } else {
    auto factory = MakeCpuEngineFactory();
    auto probe = factory->Probe();
    auto engine = factory->Create(probe.devices.at(0), EngineOptions{});
    if (!engine.ok()) return 1;
    raw_engine = engine->get();
    if (!scheduler.AddDevice(std::move(engine).value()).ok()) return 1;
  }
  if (Status s = scheduler.LoadModel(*model); !s.ok())
    return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  ThreadPool pool(2);
  DetectionPipeline pipeline(&scheduler, &pool, model->name, ImageLimits{});
  ServiceContext ctx;
  ctx.scheduler = &scheduler;
  ctx.pipeline = &pipeline;
  ctx.version = "bench";
  KServeBackend backend(ctx, {});
  KServeGrpcServer::Options server_options;
  server_options.host = "127.0.0.1";
  server_options.port = 0;
  // Process-wide, so the in-process client below benefits too (a remote client would pay its own way).
  server_options.tune_malloc = tune_malloc;
  server_options.shared_memory = true;  // the shm rows below
  if (server_max_frame >= 0) server_options.http2_max_frame_size = server_max_frame;
  std::printf("server http2_max_frame_size=%d (0: gRPC default)\n", server_options.http2_max_frame_size);
  // Two servers on the same backend, interleaved: the default (zero-copy ModelInfer) and the protobuf path it
  // replaced (Options::zero_copy = false: the whole message parsed and serialised by protobuf).
  // The zero-copy server also listens on a Unix socket in a private temp dir (removed at exit).
  std::string uds_dir = (std::filesystem::temp_directory_path() / "grpc_bench.XXXXXX").string();
  if (!mkdtemp(uds_dir.data())) return std::fprintf(stderr, "mkdtemp failed\n"), 1;
  const std::string uds_address = "unix:" + uds_dir + "/grpc.sock";
  server_options.listen_addresses = {uds_address};
  KServeGrpcServer server(ctx, backend, server_options);
  server_options.listen_addresses.clear();
  server_options.shared_memory = false;  // TCP only: shared memory needs the Unix socket
  server_options.zero_copy = false;
  KServeGrpcServer protobuf_server(ctx, backend, server_options);
  for (KServeGrpcServer* s : {&server, &protobuf_server})
    if (Status started = s->Start(); !started.ok())
      return std::fprintf(stderr, "server: %s\n", started.ToString().c_str()), 1;

  // A fixed, non-trivial input (not all zeros, so nothing can shortcut it).
  auto input = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{1, 3, 416, 416}, "images");
  for (int64_t i = 0; i < input->num_elements(); ++i)
    input->data<float>()[i] = static_cast<float>((i * 37) % 255);
  InferenceOptions io;
  io.model = model->name;

  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(64 << 20);
  for (const auto& [name, value] : client_args) {
    channel_args.SetInt(name, value);
    std::printf("client channel arg %s=%d\n", name.c_str(), value);
  }
  // [0]: zero-copy server, [1]: protobuf server, both over loopback TCP; [2]: zero-copy server over the
  // Unix socket. One channel each.
  std::shared_ptr<grpc::Channel> channels[3];
  std::unique_ptr<inference::GRPCInferenceService::Stub> stubs[3];
  std::unique_ptr<grpc::GenericStub> generic_stubs[3];
  for (int k = 0; k < 3; ++k) {
    const std::string target =
        k == 2 ? uds_address : "127.0.0.1:" + std::to_string(k == 0 ? server.port() : protobuf_server.port());
    channels[k] = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), channel_args);
    stubs[k] = inference::GRPCInferenceService::NewStub(channels[k]);
    generic_stubs[k] = std::make_unique<grpc::GenericStub>(channels[k]);
  }
  inference::ModelInferRequest request;
  request.set_model_name(model->name);
  auto* in = request.add_inputs();
  in->set_name("images");
  in->set_datatype("FP32");
  for (int64_t d : input->shape()) in->add_shape(d);
  request.add_raw_input_contents(
      std::string(reinterpret_cast<const char*>(input->bytes()), input->byte_size()));

  auto ms_since = [](Clk::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clk::now() - t0).count();
  };
  // The generic client's request: header fields by protobuf, then raw_input_contents by hand, referencing
  // the input tensor's bytes (static slice: `input` outlives every call). Built once, reused (refcounted).
  grpc::ByteBuffer generic_request;
  {
    inference::ModelInferRequest header = request;
    header.clear_raw_input_contents();
    std::string head = header.SerializeAsString();
    head += LengthDelimitedPrefix(kRawInputContentsField, input->byte_size());
    grpc::Slice parts[2] = {grpc::Slice(head),
                            grpc::Slice(input->bytes(), input->byte_size(), grpc::Slice::STATIC_SLICE)};
    generic_request = grpc::ByteBuffer(parts, 2);
  }
  grpc::CompletionQueue generic_cq;
  std::vector<float> generic_output(3549 * 85);
  auto run_generic = [&](int k) {
    auto t0 = Clk::now();
    grpc::ClientContext context;
    grpc::ByteBuffer response;
    grpc::Status status;
    auto call = generic_stubs[k]->PrepareUnaryCall(&context, "/inference.GRPCInferenceService/ModelInfer",
                                                   generic_request, &generic_cq);
    call->StartCall();
    call->Finish(&response, &status, &generic_cq);
    void* tag;
    bool ok;
    generic_cq.Next(&tag, &ok);
    bool good = status.ok();
    if (good) {
      std::vector<grpc::Slice> slices;
      (void)response.Dump(&slices);
      std::vector<std::string_view> segments;
      for (const auto& sl : slices)
        segments.emplace_back(reinterpret_cast<const char*>(sl.begin()), sl.size());
      WireSegments wire(std::move(segments));
      auto split = SplitLengthDelimitedField(wire, kRawOutputContentsField);
      good = split.ok() && split->field.size() == 1 && split->field[0].size == generic_output.size() * 4;
      if (good) wire.CopyOut(split->field[0].offset, split->field[0].size, generic_output.data());
    }
    if (!good) std::fprintf(stderr, "grpc generic: %s\n", status.error_message().c_str());
    return ms_since(t0);
  };
  // The shared memory client: one shm object holding the input region and the output region.
  const size_t shm_in_bytes = input->byte_size(), shm_out_bytes = generic_output.size() * 4;
  const std::string shm_key = "/accel_grpc_bench_" + std::to_string(getpid());
  void* shm_base = MAP_FAILED;
  {
    const int fd = shm_open(shm_key.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 && ftruncate(fd, static_cast<off_t>(shm_in_bytes + shm_out_bytes)) == 0)
      shm_base = mmap(nullptr, shm_in_bytes + shm_out_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd >= 0) close(fd);
    if (shm_base == MAP_FAILED) return std::fprintf(stderr, "cannot create shm %s\n", shm_key.c_str()), 1;
    std::memcpy(shm_base, input->bytes(), shm_in_bytes);
  }
  for (const auto& [name, offset, size] :
       {std::tuple<std::string, size_t, size_t>{"bench_in", 0, shm_in_bytes},
        {"bench_out", shm_in_bytes, shm_out_bytes}}) {
    inference::SystemSharedMemoryRegisterRequest q;
    q.set_name(name);
    q.set_key(shm_key);
    q.set_offset(offset);
    q.set_byte_size(size);
    inference::SystemSharedMemoryRegisterResponse r;
    grpc::ClientContext c;
    if (grpc::Status s = stubs[2]->SystemSharedMemoryRegister(&c, q, &r); !s.ok())  // over the Unix socket
      return std::fprintf(stderr, "shm register: %s\n", s.error_message().c_str()), 1;
  }
  inference::ModelInferRequest shm_request = request;
  shm_request.clear_raw_input_contents();
  {
    auto& p = *shm_request.mutable_inputs(0)->mutable_parameters();
    p["shared_memory_region"].set_string_param("bench_in");
    p["shared_memory_byte_size"].set_int64_param(static_cast<int64_t>(shm_in_bytes));
    auto* out = shm_request.add_outputs();
    out->set_name("output");
    auto& q = *out->mutable_parameters();
    q["shared_memory_region"].set_string_param("bench_out");
    q["shared_memory_byte_size"].set_int64_param(static_cast<int64_t>(shm_out_bytes));
  }
  auto run_shm = [&](int k) {
    auto t0 = Clk::now();
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    grpc::Status s = stubs[k]->ModelInfer(&context, shm_request, &response);
    if (!s.ok() || response.raw_output_contents_size() != 0 || response.outputs_size() != 1)
      std::fprintf(stderr, "grpc shm: %s\n", s.error_message().c_str());
    std::memcpy(generic_output.data(), static_cast<const char*>(shm_base) + shm_in_bytes, shm_out_bytes);
    return ms_since(t0);
  };
  auto run_engine = [&] {
    auto t0 = Clk::now();
    std::promise<StatusOr<TensorList>> promise;
    auto future = promise.get_future();
    Batch batch;
    batch.model = model->name;
    batch.items.push_back({input, [&promise](StatusOr<TensorList> r) { promise.set_value(std::move(r)); }});
    Status s = raw_engine->Submit(batch);
    if (!s.ok())
      std::fprintf(stderr, "engine: %s\n", s.ToString().c_str());
    else if (auto r = future.get(); !r.ok())
      std::fprintf(stderr, "engine: %s\n", r.status().ToString().c_str());
    return ms_since(t0);
  };
  KServeRequest kreq;
  kreq.model = model->name;
  kreq.inputs.push_back({"images", "FP32", input->shape(),
                         std::string_view(reinterpret_cast<const char*>(input->bytes()), input->byte_size()),
                         nullptr});
  auto run_backend = [&] {
    auto t0 = Clk::now();
    std::promise<StatusOr<KServeResponse>> promise;
    auto future = promise.get_future();
    backend.Infer(kreq, [&promise](StatusOr<KServeResponse> r) { promise.set_value(std::move(r)); });
    if (auto r = future.get(); !r.ok()) std::fprintf(stderr, "backend: %s\n", r.status().ToString().c_str());
    return ms_since(t0);
  };
  auto run_direct = [&] {
    auto t0 = Clk::now();
    auto r = scheduler.Run(io, input);
    if (!r.ok()) std::fprintf(stderr, "direct: %s\n", r.status().ToString().c_str());
    return std::chrono::duration<double, std::milli>(Clk::now() - t0).count();
  };
  // The fixed cost of one unary call on this channel, without tensors or inference (context for the rows
  // above).
  auto run_live = [&](int k) {
    auto t0 = Clk::now();
    grpc::ClientContext context;
    inference::ServerLiveRequest live_request;
    inference::ServerLiveResponse live_response;
    if (!stubs[k]->ServerLive(&context, live_request, &live_response).ok())
      std::fprintf(stderr, "live failed\n");
    return ms_since(t0);
  };
  auto run_grpc = [&](int k) {
    auto t0 = Clk::now();
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    grpc::Status s = stubs[k]->ModelInfer(&context, request, &response);
    if (!s.ok() || response.raw_output_contents_size() != 1 ||
        response.raw_output_contents(0).size() != 3549 * 85 * 4)
      std::fprintf(stderr, "grpc: %s\n", s.error_message().c_str());
    return std::chrono::duration<double, std::milli>(Clk::now() - t0).count();
  };
  for (int i = 0; i < 20; ++i)  // warm-up
    run_engine(), run_direct(), run_backend(), run_grpc(0), run_generic(0), run_grpc(1), run_generic(1),
        run_grpc(2), run_generic(2), run_shm(2);
  // Interleaved so that machine-load drift hits every path alike.
  std::vector<double> eng, direct, via_backend, via_grpc, via_generic, pb_grpc, pb_generic, live;
  std::vector<double> uds_grpc, uds_generic, uds_live, shm_uds;
  for (int i = 0; i < iterations; ++i) {
    eng.push_back(run_engine());
    direct.push_back(run_direct());
    via_backend.push_back(run_backend());
    via_grpc.push_back(run_grpc(0));
    via_generic.push_back(run_generic(0));
    pb_grpc.push_back(run_grpc(1));
    pb_generic.push_back(run_generic(1));
    uds_grpc.push_back(run_grpc(2));
    uds_generic.push_back(run_generic(2));
    shm_uds.push_back(run_shm(2));
    live.push_back(run_live(0));
    uds_live.push_back(run_live(2));
  }
  Stats e = Summarise(eng), d = Summarise(direct), b = Summarise(via_backend), g = Summarise(via_grpc),
        gg = Summarise(via_generic), pg = Summarise(pb_grpc), pgg = Summarise(pb_generic);
  std::printf("tune_malloc=%d ", tune_malloc ? 1 : 0);
  std::printf(
      "engine=%s%s iterations=%d (concurrency 1, input 1x3x416x416 FP32 = 2.0 MiB, output 1x3549x85 FP32 = "
      "1.2 MiB)\n",
      engine_kind.c_str(), engine_kind == "sim" ? " (SIMULATED device)" : "", iterations);
  auto row = [&](const char* label, const Stats& x) {
    std::printf(
        "  %-38s: mean %7.3f ms  p50 %7.3f ms  p99 %7.3f ms   over engine: mean %+7.3f  p50 %+7.3f ms\n",
        label, x.mean, x.p50, x.p99, x.mean - e.mean, x.p50 - e.p50);
  };
  row("engine (raw Submit)", e);
  row("scheduler.Run", d);
  row("KServeBackend::Infer", b);
  row("gRPC, protobuf server, stock stub", pg);
  row("gRPC, protobuf server, generic", pgg);
  row("gRPC, zero-copy server, stock stub", g);
  row("gRPC, zero-copy server, generic", gg);
  const Stats ug = Summarise(uds_grpc), ugg = Summarise(uds_generic);
  row("gRPC UDS, zero-copy server, stock stub", ug);
  row("gRPC UDS, zero-copy server, generic", ugg);
  // Not raw_input_contents: these calls carry only the small messages; the tensors go through the shm object.
  row("gRPC UDS + system shared memory (input and output in shm)", Summarise(shm_uds));
  std::printf(
      "  zero-copy server, gRPC layer alone (gRPC - backend) p50: %+7.3f ms stock stub, %+7.3f ms "
      "generic\n",
      g.p50 - b.p50, gg.p50 - b.p50);
  const Stats l = Summarise(live), ul = Summarise(uds_live);
  std::printf("  empty unary call (ServerLive, no tensors, no inference): p50 %.3f ms  mean %.3f ms\n", l.p50,
              l.mean);
  std::printf("  empty unary call over UDS:                                p50 %.3f ms  mean %.3f ms\n",
              ul.p50, ul.mean);
  generic_cq.Shutdown();
  void* tag;
  bool ok;
  while (generic_cq.Next(&tag, &ok)) {
  }
  server.Stop();  // unmaps the server's view of the regions
  protobuf_server.Stop();
  munmap(shm_base, shm_in_bytes + shm_out_bytes);
  shm_unlink(shm_key.c_str());
  scheduler.Shutdown();
  std::error_code ignored;
  std::filesystem::remove_all(uds_dir, ignored);
  return 0;
}

}  // namespace
}  // namespace accel

int main(int argc, char** argv) { return accel::Main(argc, argv); }
