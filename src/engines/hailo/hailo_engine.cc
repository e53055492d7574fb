// The hailo engine proper: every HailoRT call of Accel is in this file and hailo_factory.cc.
//
// Threads and locks:
//   - device_mu_ (shared_mutex): shared by Submit and the monitor's readings while they use the VDevice
//     and the configured models; exclusive for Load/Unload/Warmup, recovery (recreating the VDevice) and
//     Shutdown.
//   - state_mu_: health, recovery schedule, the list of jobs in flight, cached readings. Held only for short
//     sections and never while calling HailoRT, so HailoRT's completion callbacks (which take only
//     state_mu_) can run while another thread holds device_mu_ and waits inside HailoRT.
//   - monitor_ thread: the watchdog for hung jobs, VDevice recreation with back-off, and temperature/power.
//   - HailoRT's callback thread: OnJobDone, which fills the items' outputs and calls their `done`.
#include <hailo/hailort.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <hailo/hailort.hpp>
#include <hailo/hailort_common.hpp>
#include <hailo/infer_model.hpp>
#include <hailo/vdevice.hpp>
#include <list>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "core/logging.h"
#include "engines/engine_counters.h"
#include "engines/hailo/hailo_device_info.h"
#include "engines/hailo/hailo_engine_internal.h"
#include "engines/hailo/hailo_model_check.h"
#include "engines/hailo/hailo_options.h"
#include "engines/hailo/hailo_recovery.h"
#include "engines/hailo/hailo_status_map.h"
#include "engines/model_table.h"
#include "vision/hailo_nms.h"

namespace accel {

// The SDK-free code (accel_hailo_support, vision/hailo_nms) mirrors HailoRT's ABI by value; these asserts
// tie every mirrored number and layout to the headers this file is compiled against.
static_assert(
    kHailoSuccess == HAILO_SUCCESS && kHailoInvalidArgument == HAILO_INVALID_ARGUMENT &&
        kHailoOutOfHostMemory == HAILO_OUT_OF_HOST_MEMORY && kHailoTimeout == HAILO_TIMEOUT &&
        kHailoInsufficientBuffer == HAILO_INSUFFICIENT_BUFFER &&
        kHailoInvalidOperation == HAILO_INVALID_OPERATION &&
        kHailoInternalFailure == HAILO_INTERNAL_FAILURE && kHailoOpenFileFailure == HAILO_OPEN_FILE_FAILURE &&
        kHailoUnsupportedFwVersion == HAILO_UNSUPPORTED_FW_VERSION &&
        kHailoFwControlFailure == HAILO_FW_CONTROL_FAILURE &&
        kHailoInvalidFirmware == HAILO_INVALID_FIRMWARE && kHailoInvalidHef == HAILO_INVALID_HEF &&
        kHailoDriverOperationFailed == HAILO_DRIVER_OPERATION_FAILED &&
        kHailoShutdownEventSignaled == HAILO_SHUTDOWN_EVENT_SIGNALED && kHailoNotFound == HAILO_NOT_FOUND &&
        kHailoCommunicationClosed == HAILO_COMMUNICATION_CLOSED && kHailoStreamAbort == HAILO_STREAM_ABORT &&
        kHailoDriverNotInstalled == HAILO_DRIVER_NOT_INSTALLED && kHailoNotAvailable == HAILO_NOT_AVAILABLE &&
        kHailoOutOfFwMemory == HAILO_OUT_OF_FW_MEMORY && kHailoDeviceInUse == HAILO_DEVICE_IN_USE &&
        kHailoOutOfPhysicalDevices == HAILO_OUT_OF_PHYSICAL_DEVICES &&
        kHailoInvalidDeviceArchitecture == HAILO_INVALID_DEVICE_ARCHITECTURE &&
        kHailoInvalidDriverVersion == HAILO_INVALID_DRIVER_VERSION && kHailoRpcFailed == HAILO_RPC_FAILED &&
        kHailoInvalidServiceVersion == HAILO_INVALID_SERVICE_VERSION &&
        kHailoNotSupported == HAILO_NOT_SUPPORTED && kHailoQueueIsFull == HAILO_QUEUE_IS_FULL &&
        kHailoDriverInvalidResponse == HAILO_DRIVER_INVALID_RESPONSE &&
        kHailoDriverInvalidIoctl == HAILO_DRIVER_INVALID_IOCTL &&
        kHailoDriverTimeout == HAILO_DRIVER_TIMEOUT && kHailoDriverInterrupted == HAILO_DRIVER_INTERRUPTED &&
        kHailoConnectionRefused == HAILO_CONNECTION_REFUSED &&
        kHailoDriverWaitCanceled == HAILO_DRIVER_WAIT_CANCELED &&
        kHailoHefFileCorrupted == HAILO_HEF_FILE_CORRUPTED &&
        kHailoHefNotSupported == HAILO_HEF_NOT_SUPPORTED &&
        kHailoHefNotCompatibleWithDevice == HAILO_HEF_NOT_COMPATIBLE_WITH_DEVICE,
    "hailo_status_map.h disagrees with hailort.h");
static_assert(kHailoArchHailo8A0 == HAILO_ARCH_HAILO8_A0 && kHailoArchHailo8 == HAILO_ARCH_HAILO8 &&
                  kHailoArchHailo8L == HAILO_ARCH_HAILO8L && kHailoArchHailo15H == HAILO_ARCH_HAILO15H &&
                  kHailoArchHailo15L == HAILO_ARCH_HAILO15L && kHailoArchHailo15M == HAILO_ARCH_HAILO15M &&
                  kHailoArchHailo10H == HAILO_ARCH_HAILO10H && kHailoArchMars == HAILO_ARCH_MARS,
              "hailo_device_info.h architectures disagree with hailort.h");
static_assert(kHailoFormatTypeAuto == HAILO_FORMAT_TYPE_AUTO &&
                  kHailoFormatTypeUint8 == HAILO_FORMAT_TYPE_UINT8 &&
                  kHailoFormatTypeUint16 == HAILO_FORMAT_TYPE_UINT16 &&
                  kHailoFormatTypeFloat32 == HAILO_FORMAT_TYPE_FLOAT32 &&
                  kHailoFormatOrderNhwc == HAILO_FORMAT_ORDER_NHWC &&
                  kHailoFormatOrderNchw == HAILO_FORMAT_ORDER_NCHW &&
                  kHailoFormatOrderNmsByClass == HAILO_FORMAT_ORDER_HAILO_NMS_BY_CLASS &&
                  kHailoFormatOrderNmsByScore == HAILO_FORMAT_ORDER_HAILO_NMS_BY_SCORE,
              "hailo_model_check.h formats disagree with hailort.h");
static_assert(sizeof(hailo_bbox_float32_t) == kHailoBoxFloats * sizeof(float), "BY_CLASS box layout");
static_assert(sizeof(hailo_detection_t) == kHailoDetectionBytes, "BY_SCORE record is packed, 22 bytes");
static_assert(offsetof(hailo_detection_t, y_min) == 0 && offsetof(hailo_detection_t, x_min) == 4 &&
                  offsetof(hailo_detection_t, y_max) == 8 && offsetof(hailo_detection_t, x_max) == 12 &&
                  offsetof(hailo_detection_t, score) == 16 && offsetof(hailo_detection_t, class_id) == 20,
              "BY_SCORE record field offsets");
static_assert(offsetof(hailo_detections_t, detections) == kHailoDetectionCountBytes, "BY_SCORE count");
static_assert(hailort::HailoRTCommon::DETECTION_BY_SCORE_SIZE == kHailoDetectionBytes &&
                  hailort::HailoRTCommon::DETECTION_COUNT_SIZE == kHailoDetectionCountBytes &&
                  hailort::HailoRTCommon::BBOX_PARAMS == kHailoBoxFloats,
              "HailoRTCommon's NMS sizes");

namespace {

constexpr const char* kLog = "hailo";

std::string SdkMessage(hailo_status s) {
  const char* m = hailo_get_status_message(s);
  return m != nullptr ? m : "";
}

Status FromHailo(hailo_status s, const std::string& what) {
  return HailoStatusToAccel(static_cast<int>(s), what, SdkMessage(s));
}

size_t PageSize() {
  const long page = ::sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<size_t>(page) : 4096;
}

// HailoRT writes outputs by DMA in whole pages: the buffer must be page-aligned and its allocation a whole
// number of pages (infer_model.hpp, InferStream::set_buffer).
class PageBuffer {
 public:
  explicit PageBuffer(size_t size) : size_(size) {
    const size_t page = PageSize();
    const size_t rounded = (size + page - 1) / page * page;
    data_ = static_cast<uint8_t*>(std::aligned_alloc(page, rounded == 0 ? page : rounded));
  }
  ~PageBuffer() { std::free(data_); }
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
  uint8_t* data() { return data_; }
  size_t size() const { return size_; }
  bool ok() const { return data_ != nullptr; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

struct LoadedModel {
  ModelConfig config;
  HailoModelPlan plan;
  std::shared_ptr<hailort::InferModel> infer_model;
  hailort::ConfiguredInferModel configured;
  std::string input_name;
  std::string output_name;
  size_t input_frame_size = 0;
  size_t output_frame_size = 0;
  size_t async_queue_size = 1;
};

// One run_async call. Shared by the submitting thread, HailoRT's callback and the watchdog; whichever
// first moves `state` away from kPending delivers (or abandons) the items, the others do nothing.
struct Job {
  enum : int { kPending = 0, kDelivered = 1, kAbandoned = 2 };
  std::atomic<int> state{kPending};
  std::string model;
  HailoNmsOrder order = HailoNmsOrder::kByClass;
  std::string output_name;
  std::vector<std::shared_ptr<const Tensor>> inputs;  // kept alive until HailoRT is done with them
  std::vector<ItemDone> done;
  std::vector<std::unique_ptr<PageBuffer>> outputs;
  std::vector<hailort::ConfiguredInferModel::Bindings> bindings;
  SteadyTime started{};
};

class HailoEngine final : public Engine {
 public:
  HailoEngine(DeviceInfo device, HailoOptions options)
      : device_(std::move(device)),
        options_(std::move(options)),
        bdf_(HailoBdfFromDeviceInfoId(device_.id)),
        models_(device_.id),
        recovery_(BackoffSchedule(std::chrono::milliseconds(options_.backoff_initial_ms),
                                  std::chrono::milliseconds(options_.backoff_max_ms))) {}

  ~HailoEngine() override { Shutdown(); }

  Status Open() {
    std::unique_lock lock(device_mu_);
    ACCEL_RETURN_IF_ERROR(CreateVDevice());
    monitor_ = std::thread([this] { MonitorLoop(); });
    ACCEL_LOG(kInfo, kLog) << device_.id << " opened: " << DescribeHailoOptions(options_);
    return Status::Ok();
  }

  const DeviceInfo& device() const override { return device_; }

  EngineCapabilities capabilities() const override {
    EngineCapabilities c;
    // Items per Submit; larger batches are split into run_async calls that fit HailoRT's async queue.
    c.max_batch = options_.batch_size > 0 ? options_.batch_size : 8;
    c.max_in_flight = options_.threads;
    c.async = true;
    return c;
  }

  bool Supports(const ModelConfig& model) const override { return PlanHailoModel(model).ok(); }

  Status Load(const ModelConfig& model) override {
    ACCEL_ASSIGN_OR_RETURN(HailoModelPlan plan, PlanHailoModel(model));
    std::unique_lock lock(device_mu_);
    if (shutdown_) return FailedPrecondition(device_.id + " is shut down");
    if (!vdevice_) return Unavailable(device_.id + " is failed (" + HealthReason() + "); cannot load now");
    models_.Take(model.name);  // released here, before its replacement is configured on the card
    auto loaded = ConfigureModel(model, plan);
    if (!loaded.ok()) {
      ACCEL_LOG(kWarn, kLog) << device_.id << ": loading " << model.name
                             << " failed: " << loaded.status().message();
      return loaded.status();
    }
    models_.Put(model.name, std::move(loaded).value());
    ACCEL_LOG(kInfo, kLog) << device_.id << ": loaded " << model.name << " from " << plan.hef_path;
    return Status::Ok();
  }

  Status Unload(const std::string& model) override {
    std::unique_lock lock(device_mu_);
    std::shared_ptr<LoadedModel> m = models_.Take(model);
    if (!m) return models_.NotLoaded(model);
    ShutdownModel(*m);
    return Status::Ok();
  }

  Status Warmup(const std::string& model, int batch_size) override {
    std::shared_lock lock(device_mu_);
    std::shared_ptr<LoadedModel> m = models_.Find(model);
    if (!m) return models_.NotLoaded(model);
    return RunProbe(*m, std::max(1, batch_size));
  }

  Status Submit(Batch& batch) override {
    if (batch.items.empty()) return InvalidArgument("empty batch");
    {
      std::lock_guard state(state_mu_);
      if (shutdown_) return Unavailable(device_.id + " is shut down");
      if (recovery_.failed()) return Unavailable(device_.id + " is failed: " + recovery_.reason());
    }
    std::shared_lock lock(device_mu_);
    std::shared_ptr<LoadedModel> found = models_.Find(batch.model);
    if (!found) return models_.NotLoaded(batch.model);
    LoadedModel& m = *found;
    for (const auto& item : batch.items) {
      if (!item.input || item.input->byte_size() != m.input_frame_size ||
          item.input->dtype() != m.config.input.dtype) {
        return InvalidArgument("input " + (item.input ? item.input->Describe() : std::string("(null)")) +
                               " does not match model '" + m.config.name + "' on " + device_.id);
      }
    }
    try {
      return SubmitLocked(m, batch);
    } catch (const std::exception& e) {
      return Internal(std::string("hailo submit: ") + e.what());
    }
  }

  EngineHealth Health() const override {
    std::lock_guard state(state_mu_);
    if (shutdown_) return {HealthState::kFailed, "shut down"};
    if (recovery_.failed()) return {HealthState::kFailed, recovery_.reason()};
    return {};
  }

  EngineStats Stats() const override {
    EngineStats s;
    counters_.Fill(s);
    std::lock_guard state(state_mu_);
    s.temperature_c = temperature_c_;
    s.power_w = power_w_;
    return s;
  }

  void Shutdown() override {
    {
      std::lock_guard state(state_mu_);
      if (shutdown_ && !monitor_.joinable()) return;
      shutdown_ = true;
    }
    wake_.notify_all();
    if (monitor_.joinable()) monitor_.join();
    // The shutdown rule (engine.h). This engine queues nothing itself: every job it took is with HailoRT,
    // i.e. running on the card, so jobs in flight may finish, for up to timeout_ms. Those still out then
    // are treated as hung: aborted with the models below and failed with UNAVAILABLE.
    {
      std::unique_lock state(state_mu_);
      idle_.wait_for(state, std::chrono::milliseconds(options_.timeout_ms),
                     [this] { return in_flight_.empty(); });
    }
    std::unique_lock lock(device_mu_);
    // Shutting a configured model down aborts its pending jobs; their callbacks fail the items.
    for (const auto& m : models_.TakeAll()) ShutdownModel(*m);
    ++tearing_down_;
    vdevice_.reset();
    --tearing_down_;
    // Anything HailoRT did not call back for is failed here, so every item's done runs exactly once.
    AbandonAll(Unavailable(device_.id + " shut down"));
  }

 private:
  std::string HealthReason() const {
    std::lock_guard state(state_mu_);
    return recovery_.reason();
  }

  // Caller holds device_mu_ exclusively.
  Status CreateVDevice() {
    hailo_vdevice_params_t params{};
    hailo_status s = hailo_init_vdevice_params(&params);
    if (s != HAILO_SUCCESS) return FromHailo(s, "hailo_init_vdevice_params");
    hailo_device_id_t id{};
    std::strncpy(id.id, bdf_.c_str(), sizeof(id.id) - 1);
    params.device_ids = &id;
    params.device_count = 1;
    params.scheduling_algorithm = options_.scheduler == HailoScheduler::kRoundRobin
                                      ? HAILO_SCHEDULING_ALGORITHM_ROUND_ROBIN
                                      : HAILO_SCHEDULING_ALGORITHM_NONE;
    params.multi_process_service = options_.multi_process;
    params.group_id = options_.group_id.empty() ? HAILO_DEFAULT_VDEVICE_GROUP_ID : options_.group_id.c_str();
    auto vdevice = hailort::VDevice::create(params);
    if (!vdevice) return FromHailo(vdevice.status(), "opening " + device_.id);
    vdevice_ = vdevice.release();
    return Status::Ok();
  }

  static HefStreamDesc Describe(const hailort::InferModel::InferStream& stream) {
    HefStreamDesc d;
    d.name = stream.name();
    const hailo_3d_image_shape_t shape = stream.shape();
    d.height = shape.height;
    d.width = shape.width;
    d.features = shape.features;
    const hailo_format_t format = stream.format();
    d.format_type = static_cast<int>(format.type);
    d.format_order = static_cast<int>(format.order);
    d.frame_size = stream.get_frame_size();
    d.is_nms = stream.is_nms();
    if (d.is_nms) {
      auto nms = stream.get_nms_shape();
      if (nms) {
        d.nms_classes = nms->number_of_classes;
        d.nms_max_boxes_per_class = nms->max_bboxes_per_class;
        d.nms_max_boxes_total = nms->max_bboxes_total;
      }
    }
    return d;
  }

  // Creates, checks and configures one model on the current VDevice. Caller holds device_mu_ exclusively.
  StatusOr<std::unique_ptr<LoadedModel>> ConfigureModel(const ModelConfig& model,
                                                        const HailoModelPlan& plan) {
    auto infer_model = vdevice_->create_infer_model(plan.hef_path, model.name);
    if (!infer_model) return FromHailo(infer_model.status(), "loading HEF " + plan.hef_path);
    auto m = std::make_unique<LoadedModel>();
    m->config = model;
    m->plan = plan;
    m->infer_model = infer_model.release();
    hailort::InferModel& im = *m->infer_model;
    if (options_.batch_size > 0) im.set_batch_size(static_cast<uint16_t>(options_.batch_size));

    if (im.inputs().size() == 1) {
      auto in = im.input();
      if (!in) return FromHailo(in.status(), "HEF input");
      in->set_format_type(static_cast<hailo_format_type_t>(plan.input_format_type));
      in->set_format_order(static_cast<hailo_format_order_t>(plan.input_format_order));
    }
    if (im.outputs().size() == 1) {
      auto out = im.output();
      if (!out) return FromHailo(out.status(), "HEF output");
      if (out->is_nms()) {
        out->set_format_type(static_cast<hailo_format_type_t>(plan.output_format_type));
        out->set_format_order(static_cast<hailo_format_order_t>(plan.output_format_order));
        out->set_nms_score_threshold(plan.nms_score_threshold);
        out->set_nms_iou_threshold(plan.nms_iou_threshold);
        if (plan.nms_order == HailoNmsOrder::kByClass) {
          out->set_nms_max_proposals_per_class(static_cast<uint32_t>(plan.max_boxes_per_class));
        } else {
          out->set_nms_max_proposals_total(static_cast<uint32_t>(plan.max_boxes_total));
        }
      }
    }
    std::vector<HefStreamDesc> inputs, outputs;
    for (const auto& s : im.inputs()) inputs.push_back(Describe(s));
    for (const auto& s : im.outputs()) outputs.push_back(Describe(s));
    ACCEL_RETURN_IF_ERROR(CheckHefInputs(model, inputs));
    ACCEL_ASSIGN_OR_RETURN(std::string warning, CheckHefOutputs(model, plan, outputs));
    if (!warning.empty()) {
      ACCEL_LOG(kWarn, kLog) << device_.id << ": " << warning;
    }
    m->input_name = inputs[0].name;
    m->output_name = outputs[0].name;
    m->input_frame_size = inputs[0].frame_size;
    m->output_frame_size = outputs[0].frame_size;

    auto configured = im.configure();
    if (!configured) return FromHailo(configured.status(), "configuring " + model.name);
    m->configured = configured.release();
    if (options_.scheduler == HailoScheduler::kNone) {
      // Without the scheduler the network group must be activated by hand; only one can be active.
      hailo_status s = m->configured.activate();
      if (s != HAILO_SUCCESS)
        return FromHailo(s, "activating " + model.name + " (scheduler=none: one model)");
    } else {
      if (options_.scheduler_timeout_ms >= 0) {
        hailo_status s =
            m->configured.set_scheduler_timeout(std::chrono::milliseconds(options_.scheduler_timeout_ms));
        if (s != HAILO_SUCCESS) return FromHailo(s, "set_scheduler_timeout");
      }
      if (options_.scheduler_threshold >= 0) {
        hailo_status s =
            m->configured.set_scheduler_threshold(static_cast<uint32_t>(options_.scheduler_threshold));
        if (s != HAILO_SUCCESS) return FromHailo(s, "set_scheduler_threshold");
      }
      if (options_.scheduler_priority >= 0) {
        hailo_status s =
            m->configured.set_scheduler_priority(static_cast<uint8_t>(options_.scheduler_priority));
        if (s != HAILO_SUCCESS) return FromHailo(s, "set_scheduler_priority");
      }
    }
    auto queue = m->configured.get_async_queue_size();
    m->async_queue_size = queue && *queue > 0 ? *queue : 1;
    return m;
  }

  // Aborts the model's pending jobs (their callbacks see HAILO_STREAM_ABORT-like codes, which are not card
  // faults while tearing_down_ is raised).
  void ShutdownModel(LoadedModel& m) {
    ++tearing_down_;
    if (options_.scheduler == HailoScheduler::kNone) (void)m.configured.deactivate();
    (void)m.configured.shutdown();
    --tearing_down_;
  }

  // Builds one job for items [begin, end) of the batch. Caller holds device_mu_ (shared at least).
  StatusOr<std::shared_ptr<Job>> MakeJob(LoadedModel& m, Batch& batch, size_t begin, size_t end) {
    auto job = std::make_shared<Job>();
    job->model = m.config.name;
    job->order = m.plan.nms_order;
    job->output_name = m.output_name;
    for (size_t i = begin; i < end; ++i) {
      auto bindings = m.configured.create_bindings();
      if (!bindings) return FromHailo(bindings.status(), "create_bindings");
      auto in = bindings->input(m.input_name);
      if (!in) return FromHailo(in.status(), "binding input " + m.input_name);
      // HailoRT only reads input buffers; MemoryView has no const form.
      auto* input_bytes = const_cast<uint8_t*>(batch.items[i].input->bytes());
      hailo_status s = in->set_buffer(hailort::MemoryView(input_bytes, m.input_frame_size));
      if (s != HAILO_SUCCESS) return FromHailo(s, "binding input buffer");
      auto buffer = std::make_unique<PageBuffer>(m.output_frame_size);
      if (!buffer->ok()) return ResourceExhausted("hailo: out of memory for output buffers");
      auto out = bindings->output(m.output_name);
      if (!out) return FromHailo(out.status(), "binding output " + m.output_name);
      s = out->set_buffer(hailort::MemoryView(buffer->data(), buffer->size()));
      if (s != HAILO_SUCCESS) return FromHailo(s, "binding output buffer");
      job->bindings.push_back(std::move(bindings).release());
      job->outputs.push_back(std::move(buffer));
      job->inputs.push_back(batch.items[i].input);
      job->done.push_back(batch.items[i].done);
    }
    return job;
  }

  // Starts one job. On error nothing was handed to HailoRT for it (or HailoRT refused it).
  Status StartJob(LoadedModel& m, const std::shared_ptr<Job>& job) {
    const auto timeout = std::chrono::milliseconds(options_.timeout_ms);
    hailo_status s = m.configured.wait_for_async_ready(timeout, static_cast<uint32_t>(job->bindings.size()));
    if (s != HAILO_SUCCESS) return NoteFailure(s, "waiting for " + device_.id + " to accept work");
    job->started = Clock::Real()->Now();
    {
      std::lock_guard state(state_mu_);
      in_flight_.push_back(job);
    }
    auto started = m.configured.run_async(
        job->bindings,
        [this, job](const hailort::AsyncInferCompletionInfo& info) { OnJobDone(job, info.status); });
    if (!started) {
      int expected = Job::kPending;
      if (!job->state.compare_exchange_strong(expected, Job::kAbandoned)) return Status::Ok();  // delivered
      RemoveInFlight(job);
      return NoteFailure(started.status(), "run_async on " + device_.id);
    }
    // Without detach the job's destructor would block until the inference finishes.
    started->detach();
    return Status::Ok();
  }

  Status SubmitLocked(LoadedModel& m, Batch& batch) {
    const size_t n = batch.items.size();
    const size_t chunk = std::max<size_t>(1, m.async_queue_size);
    bool taken = false;  // once a chunk is started the engine owns the batch and must finish every item
    for (size_t begin = 0; begin < n; begin += chunk) {
      const size_t end = std::min(n, begin + chunk);
      Status status = Status::Ok();
      auto job = MakeJob(m, batch, begin, end);
      if (job.ok())
        status = StartJob(m, *job);
      else
        status = job.status();
      if (status.ok()) {
        taken = true;
        continue;
      }
      if (!taken) return status;
      for (size_t i = begin; i < n; ++i) batch.items[i].done(status);
      counters_.RecordBatch(0, /*failed=*/true);
      return Status::Ok();
    }
    return Status::Ok();
  }

  // HailoRT's callback thread (or ours, when HailoRT completes inline).
  void OnJobDone(const std::shared_ptr<Job>& job, hailo_status s) {
    int expected = Job::kPending;
    const bool mine = job->state.compare_exchange_strong(expected, Job::kDelivered);
    RemoveInFlight(job);
    if (!mine) return;
    if (s != HAILO_SUCCESS) {
      Status error = NoteFailure(s, "inference on " + device_.id);
      counters_.RecordBatch(0, /*failed=*/true);
      for (auto& done : job->done) done(error);
      return;
    }
    const DType dtype = HailoOutputDType(job->order);
    for (size_t i = 0; i < job->done.size(); ++i) {
      PageBuffer& frame = *job->outputs[i];
      Tensor out(dtype, HailoOutputShape(job->order, frame.size()), job->output_name);
      std::memcpy(out.bytes(), frame.data(), std::min(out.byte_size(), frame.size()));
      TensorList outputs;
      outputs.push_back(std::move(out));
      job->done[i](std::move(outputs));
    }
    counters_.RecordBatch(job->done.size(), /*failed=*/false);
  }

  // Maps a HailoRT error to a Status and, for card faults, marks the card failed so the scheduler stops
  // sending work and the monitor starts recovery. Any thread; takes state_mu_.
  Status NoteFailure(hailo_status s, const std::string& what) {
    Status status = FromHailo(s, what);
    const HailoStatusClass c = ClassifyHailoStatus(static_cast<int>(s));
    const bool abort_code = s == HAILO_STREAM_ABORT || s == HAILO_SHUTDOWN_EVENT_SIGNALED ||
                            s == HAILO_DRIVER_WAIT_CANCELED || s == HAILO_DRIVER_INTERRUPTED;
    if (abort_code && tearing_down_.load() > 0) return status;  // we aborted it ourselves
    if (c.fault == HailoFault::kDevice || c.fault == HailoFault::kVersion) {
      std::lock_guard state(state_mu_);
      if (!shutdown_ && !recovering_) {
        if (!recovery_.failed()) {
          ACCEL_LOG(kError, kLog) << device_.id << " failed: " << status.message();
        }
        recovery_.MarkFailed(Clock::Real()->Now(), status.message());
        wake_.notify_all();
      }
    }
    return status;
  }

  void RemoveInFlight(const std::shared_ptr<Job>& job) {
    std::lock_guard state(state_mu_);
    in_flight_.remove(job);
    if (in_flight_.empty()) idle_.notify_all();
  }

  // Fails every job still pending with `error`. Safe against concurrent callbacks (the CAS decides).
  void AbandonAll(const Status& error) {
    std::list<std::shared_ptr<Job>> jobs;
    {
      std::lock_guard state(state_mu_);
      jobs.swap(in_flight_);
    }
    for (auto& job : jobs) {
      int expected = Job::kPending;
      if (!job->state.compare_exchange_strong(expected, Job::kAbandoned)) continue;
      counters_.RecordBatch(0, /*failed=*/true);
      for (auto& done : job->done) done(error);
    }
  }

  // Fails the jobs older than timeout_ms and marks the card failed: a hung card never calls back.
  void Watchdog() {
    const auto now = Clock::Real()->Now();
    const auto limit = std::chrono::milliseconds(options_.timeout_ms);
    std::vector<std::shared_ptr<Job>> hung;
    {
      std::lock_guard state(state_mu_);
      for (auto it = in_flight_.begin(); it != in_flight_.end();) {
        if (now - (*it)->started > limit) {
          hung.push_back(*it);
          it = in_flight_.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (hung.empty()) return;
    const std::string reason =
        "a batch did not complete within " + std::to_string(options_.timeout_ms) + " ms (card hung?)";
    {
      std::lock_guard state(state_mu_);
      if (!recovery_.failed() && !shutdown_) {
        ACCEL_LOG(kError, kLog) << device_.id << " failed: " << reason;
        recovery_.MarkFailed(now, reason);
      }
    }
    for (auto& job : hung) {
      int expected = Job::kPending;
      if (!job->state.compare_exchange_strong(expected, Job::kAbandoned)) continue;
      counters_.RecordBatch(0, /*failed=*/true);
      for (auto& done : job->done) done(Unavailable(device_.id + ": " + reason));
    }
  }

  // Runs `frames` dummy frames through `m` and waits for them: the warm-up and the recovery probe.
  // Caller holds device_mu_.
  Status RunProbe(LoadedModel& m, int frames) {
    const auto timeout = std::chrono::milliseconds(options_.timeout_ms);
    std::vector<uint8_t> input(m.input_frame_size, 0);
    int remaining = frames;
    while (remaining > 0) {
      const int n = std::min<int>(remaining, static_cast<int>(m.async_queue_size));
      std::vector<std::unique_ptr<PageBuffer>> outputs;
      std::vector<hailort::ConfiguredInferModel::Bindings> bindings;
      for (int i = 0; i < n; ++i) {
        auto b = m.configured.create_bindings();
        if (!b) return FromHailo(b.status(), "create_bindings");
        auto in = b->input(m.input_name);
        if (!in) return FromHailo(in.status(), "probe input");
        hailo_status s = in->set_buffer(hailort::MemoryView(input.data(), input.size()));
        if (s != HAILO_SUCCESS) return FromHailo(s, "probe input buffer");
        outputs.push_back(std::make_unique<PageBuffer>(m.output_frame_size));
        auto out = b->output(m.output_name);
        if (!out) return FromHailo(out.status(), "probe output");
        s = out->set_buffer(hailort::MemoryView(outputs.back()->data(), outputs.back()->size()));
        if (s != HAILO_SUCCESS) return FromHailo(s, "probe output buffer");
        bindings.push_back(std::move(b).release());
      }
      hailo_status s = m.configured.wait_for_async_ready(timeout, static_cast<uint32_t>(n));
      if (s != HAILO_SUCCESS) return FromHailo(s, "probe: waiting for " + device_.id);
      auto job = m.configured.run_async(bindings);
      if (!job) return FromHailo(job.status(), "probe: run_async");
      s = job->wait(timeout);
      if (s != HAILO_SUCCESS) return FromHailo(s, "probe: inference");
      remaining -= n;
    }
    return Status::Ok();
  }

  // Recreates the VDevice and reloads every model, then runs the probe on one of them. Monitor thread.
  Status AttemptRecovery() {
    std::unique_lock lock(device_mu_);
    std::vector<ModelConfig> configs;
    for (const auto& m : models_.TakeAll()) {
      configs.push_back(m->config);
      ShutdownModel(*m);
    }
    ++tearing_down_;
    vdevice_.reset();
    --tearing_down_;
    AbandonAll(Unavailable(device_.id + " is being reset"));
    ACCEL_RETURN_IF_ERROR(CreateVDevice());
    std::shared_ptr<LoadedModel> first;  // configs are in name order, as the table was
    for (const auto& config : configs) {
      auto plan = PlanHailoModel(config);
      if (!plan.ok()) return plan.status();
      auto loaded = ConfigureModel(config, *plan);
      if (!loaded.ok()) return loaded.status().WithContext("reloading " + config.name);
      std::shared_ptr<LoadedModel> model = std::move(loaded).value();
      if (!first) first = model;
      models_.Put(config.name, std::move(model));
    }
    if (first) return RunProbe(*first, 1);
    // No model to run: asking the card who it is proves the driver and firmware answer.
    auto devices = vdevice_->get_physical_devices();
    if (devices && !devices->empty()) {
      auto identity = devices->front().get().identify();
      if (!identity) return FromHailo(identity.status(), "probe: identify");
    }
    return Status::Ok();
  }

  void ReadSensors() {
    std::shared_lock lock(device_mu_, std::try_to_lock);
    if (!lock.owns_lock() || !vdevice_) return;
    auto devices = vdevice_->get_physical_devices();  // not available through hailort.service
    if (!devices || devices->empty()) return;
    hailort::Device& d = devices->front().get();
    double temperature = -1, power = -1;
    if (auto t = d.get_chip_temperature()) temperature = (t->ts0_temperature + t->ts1_temperature) / 2.0;
    if (auto p = d.power_measurement(HAILO_DVM_OPTIONS_AUTO, HAILO_POWER_MEASUREMENT_TYPES__POWER))
      power = *p;
    std::lock_guard state(state_mu_);
    temperature_c_ = temperature;
    power_w_ = power;
  }

  void MonitorLoop() {
    auto next_reading = Clock::Real()->Now();
    for (;;) {
      const auto tick = std::chrono::milliseconds(std::clamp(options_.timeout_ms / 4, 10, 250));
      {
        std::unique_lock state(state_mu_);
        wake_.wait_for(state, tick, [this] { return shutdown_; });
        if (shutdown_) return;
      }
      try {
        Watchdog();
        bool due = false;
        {
          std::lock_guard state(state_mu_);
          due = recovery_.DueForAttempt(Clock::Real()->Now());
          if (due) recovering_ = true;
        }
        if (due) {
          Status s = AttemptRecovery();
          std::lock_guard state(state_mu_);
          recovering_ = false;
          if (s.ok()) {
            ACCEL_LOG(kInfo, kLog) << device_.id << " recovered after " << recovery_.attempts() + 1
                                   << " attempt(s)";
            recovery_.Recovered();
          } else {
            recovery_.AttemptFailed(Clock::Real()->Now(), "recovery failed: " + s.message());
            ACCEL_LOG(kWarn, kLog) << device_.id << ": " << recovery_.reason() << "; next attempt in "
                                   << MillisBetween(Clock::Real()->Now(), recovery_.next_attempt()) << " ms";
          }
        }
        if (options_.monitor_interval_ms > 0 && Clock::Real()->Now() >= next_reading) {
          ReadSensors();
          next_reading = Clock::Real()->Now() + std::chrono::milliseconds(options_.monitor_interval_ms);
        }
      } catch (const std::exception& e) {
        std::lock_guard state(state_mu_);
        recovering_ = false;
        ACCEL_LOG(kError, kLog) << device_.id << " monitor: " << e.what();
      }
    }
  }

  const DeviceInfo device_;
  const HailoOptions options_;
  const std::string bdf_;

  mutable std::shared_mutex device_mu_;
  std::unique_ptr<hailort::VDevice> vdevice_;  // guarded by device_mu_
  // Used under device_mu_ (the models are configured on vdevice_); never referenced outside the table for
  // longer than a call, so taking them out releases them.
  ModelTable<LoadedModel> models_;

  mutable std::mutex state_mu_;
  std::condition_variable wake_;
  bool shutdown_ = false;                      // guarded by state_mu_
  bool recovering_ = false;                    // guarded by state_mu_: faults while resetting are ours
  HailoRecovery recovery_;                     // guarded by state_mu_
  std::list<std::shared_ptr<Job>> in_flight_;  // guarded by state_mu_
  std::condition_variable idle_;               // in_flight_ became empty (Shutdown waits for it)
  double temperature_c_ = -1;                  // guarded by state_mu_
  double power_w_ = -1;                        // guarded by state_mu_
  std::thread monitor_;

  std::atomic<int> tearing_down_{0};
  EngineCounters counters_;
};

}  // namespace

HailoVersion HailoLibraryVersion() {
  hailo_version_t v{};
  if (hailo_get_library_version(&v) != HAILO_SUCCESS) return {};
  return HailoVersion{v.major, v.minor, v.revision};
}

StatusOr<std::unique_ptr<Engine>> CreateHailoEngine(const DeviceInfo& device, const HailoOptions& options) {
  try {
    auto engine = std::make_unique<HailoEngine>(device, options);
    ACCEL_RETURN_IF_ERROR(engine->Open());
    return std::unique_ptr<Engine>(std::move(engine));
  } catch (const std::exception& e) {
    return Internal(std::string("hailo: creating the engine: ") + e.what());
  }
}

}  // namespace accel
