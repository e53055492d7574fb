#include "streams/frame_source.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavformat/avformat.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include "core/logging.h"

namespace accel {
namespace {

constexpr const char* kLog = "streams";

std::string AvError(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof(text));
  return text;
}

// FFmpeg's own messages go to our log at debug level, with any URL in them redacted (FFmpeg prints the
// URL it failed to open, credentials included).
void FfmpegLogCallback(void* avcl, int level, const char* format, va_list args) {
  if (level > AV_LOG_WARNING || !LogEnabled(LogLevel::kDebug)) return;
  char line[1024];
  int print_prefix = 1;
  av_log_format_line(avcl, level, format, args, line, sizeof(line), &print_prefix);
  std::string text = RedactUrlsInText(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) ACCEL_LOG(kDebug, "ffmpeg") << text;
}

void InitFfmpegOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    avdevice_register_all();
    avformat_network_init();
    av_log_set_callback(FfmpegLogCallback);
  });
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix;
}

// Errors worth retrying for ever: the network or the peer, not the content.
bool IsTransient(int error) {
  return error == AVERROR(ECONNREFUSED) || error == AVERROR(ETIMEDOUT) || error == AVERROR(EHOSTUNREACH) ||
         error == AVERROR(ENETUNREACH) || error == AVERROR(ECONNRESET) || error == AVERROR(EPIPE) ||
         error == AVERROR(EIO) || error == AVERROR(EAGAIN) || error == AVERROR_EXIT || error == AVERROR_EOF ||
         error == AVERROR_HTTP_SERVER_ERROR;
}

struct FormatDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct BufferDeleter {
  void operator()(AVBufferRef* b) const { av_buffer_unref(&b); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;

// Why an attempt ended, and whether trying again may help.
struct Failure {
  std::string reason;
  bool transient = true;
};

}  // namespace

const char* SourceStateName(SourceState state) {
  switch (state) {
    case SourceState::kConnecting:
      return "connecting";
    case SourceState::kRunning:
      return "running";
    case SourceState::kReconnecting:
      return "reconnecting";
    case SourceState::kFailed:
      return "failed";
    case SourceState::kEnded:
      return "ended";
    case SourceState::kStopped:
      return "stopped";
  }
  return "unknown";
}

std::string SourceKindOf(std::string_view url) {
  auto has_scheme = [&](std::string_view scheme) {
    if (url.size() <= scheme.size() + 3) return false;
    for (size_t i = 0; i < scheme.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(url[i])) != scheme[i]) return false;
    return url.substr(scheme.size(), 3) == "://";
  };
  if (has_scheme("rtsp") || has_scheme("rtsps")) return "rtsp";
  if (has_scheme("http") || has_scheme("https")) return "http";
  if (has_scheme("file")) return "file";
  if (StartsWith(url, "/dev/video")) return "v4l2";
  if (url.find("://") != std::string_view::npos || url.empty()) return "";
  return "file";  // a plain path
}

std::string RedactUrl(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const size_t authority = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?#", authority);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  const size_t at = url.rfind('@', authority_end == 0 ? 0 : authority_end - 1);
  if (at == std::string_view::npos || at < authority) return std::string(url);
  std::string_view userinfo = url.substr(authority, at - authority);
  const size_t colon = userinfo.find(':');
  std::string out(url.substr(0, authority));
  if (colon == std::string_view::npos) {
    out += "***";
  } else {
    out += userinfo.substr(0, colon);
    out += ":***";
  }
  out += url.substr(at);
  return out;
}

std::string RedactUrlsInText(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t sep = text.find("://", pos);
    if (sep == std::string_view::npos) break;
    size_t start = sep;
    while (start > pos && std::isalnum(static_cast<unsigned char>(text[start - 1]))) --start;
    size_t end = sep + 3;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) && text[end] != '\'' &&
           text[end] != '"')
      ++end;
    out += text.substr(pos, start - pos);
    out += RedactUrl(text.substr(start, end - start));
    pos = end;
  }
  out += text.substr(pos);
  return out;
}

struct FrameSource::Impl {
  FrameSourceOptions options;
  std::string redacted;
  std::thread thread;
  std::atomic<bool> stopping{false};
  // Deadline of the blocking FFmpeg call in progress (steady clock, ns since epoch); 0: none.
  std::atomic<int64_t> io_deadline_ns{0};

  mutable std::mutex mu;
  std::condition_variable cv;
  FramePtr newest;  // the newest decoded frame not taken yet
  std::uint64_t newest_index = 0;
  SteadyTime newest_decoded_at;
  double newest_unix_time = 0;
  FrameSourceStats stats;
  AVPixelFormat hw_format = AV_PIX_FMT_NONE;  // the hardware surface format, when decoding in hardware

  // Used by the consumer only (TakeNewest), never by the decoding thread.
  std::mutex convert_mu;
  SwsContext* sws = nullptr;

  ~Impl() {
    if (sws) sws_freeContext(sws);
  }

  static int Interrupt(void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (self->stopping.load()) return 1;
    const int64_t deadline = self->io_deadline_ns.load();
    return deadline != 0 && std::chrono::steady_clock::now().time_since_epoch().count() > deadline ? 1 : 0;
  }

  void ArmDeadline(std::chrono::milliseconds timeout) {
    io_deadline_ns = (std::chrono::steady_clock::now() + timeout).time_since_epoch().count();
  }

  void SetState(SourceState state, std::string reason) {
    std::lock_guard<std::mutex> lock(mu);
    if (stats.state != state || stats.reason != reason) {
      if (state == SourceState::kRunning) {
        ACCEL_LOG(kInfo, kLog) << redacted << ": running (" << stats.codec << " " << stats.width << "x"
                               << stats.height << (stats.hardware ? ", hardware decoding" : "") << ")";
      } else if (state != SourceState::kStopped) {
        const std::string line =
            redacted + ": " + SourceStateName(state) + (reason.empty() ? "" : ": " + reason);
        if (state == SourceState::kConnecting || state == SourceState::kEnded) {
          ACCEL_LOG(kInfo, kLog) << line;
        } else {
          ACCEL_LOG(kWarn, kLog) << line;
        }
      }
    }
    stats.state = state;
    stats.reason = std::move(reason);
    cv.notify_all();
  }

  // Sleeps up to `duration`; false when stopping.
  bool Sleep(std::chrono::milliseconds duration) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, duration, [&] { return stopping.load(); });
    return !stopping.load();
  }

  std::string OpenUrl() const {
    const std::string kind = SourceKindOf(options.url);
    if (kind == "file" && StartsWith(options.url, "file://")) return options.url.substr(7);
    return options.url;
  }

  void Run() {
    InitFfmpegOnce();
    std::chrono::milliseconds backoff = options.min_backoff;
    int permanent_failures = 0;
    bool first = true;
    while (!stopping) {
      if (!first) {
        std::lock_guard<std::mutex> lock(mu);
        ++stats.reconnects;
      }
      first = false;
      bool delivered = false;
      Failure failure = Attempt(&delivered);
      if (stopping) break;
      if (failure.reason.empty()) {  // a file at its end, not looping
        SetState(SourceState::kEnded, "end of file (set loop: true to replay it)");
        return;
      }
      if (delivered) {
        permanent_failures = 0;
        backoff = options.min_backoff;
      }
      if (!failure.transient && ++permanent_failures >= options.max_attempts) {
        SetState(SourceState::kFailed,
                 failure.reason + " (" + std::to_string(permanent_failures) + " attempts; not retried)");
        return;
      }
      const auto seconds = std::chrono::duration<double>(backoff).count();
      char retry[64];
      std::snprintf(retry, sizeof(retry), "; retrying in %.0f s", seconds);
      SetState(SourceState::kReconnecting, failure.reason + retry);
      if (!Sleep(backoff)) break;
      backoff = std::min(backoff * 2, options.max_backoff);
    }
    SetState(SourceState::kStopped, "");
  }

  // One open-decode session. Returns the failure that ended it; an empty reason means a clean end of a
  // non-looping file. *delivered: at least one frame was decoded.
  Failure Attempt(bool* delivered) {
    const std::string kind = SourceKindOf(options.url);
    const bool is_file = kind == "file";
    AVFormatContext* raw = avformat_alloc_context();
    if (!raw) return {"out of memory", true};
    raw->interrupt_callback.callback = &Impl::Interrupt;
    raw->interrupt_callback.opaque = this;
    AVDictionary* dict = nullptr;
    const std::string io_timeout_us = std::to_string(options.read_timeout.count() * 1000);
    const AVInputFormat* input_format = nullptr;
    if (kind == "rtsp") {
      av_dict_set(&dict, "rtsp_transport", "tcp", 0);
      av_dict_set(&dict, "timeout", io_timeout_us.c_str(), 0);  // socket I/O timeout, µs
    } else if (kind == "http") {
      av_dict_set(&dict, "rw_timeout", io_timeout_us.c_str(), 0);
    } else if (kind == "v4l2") {
      input_format = av_find_input_format("video4linux2");
    }
    ArmDeadline(options.open_timeout);
    int rc = avformat_open_input(&raw, OpenUrl().c_str(), input_format, &dict);
    av_dict_free(&dict);
    if (rc < 0) {  // avformat_open_input frees the context on failure
      if (stopping) return {"stopped", true};
      return {"cannot open: " + AvError(rc), !is_file && IsTransient(rc)};
    }
    std::unique_ptr<AVFormatContext, FormatDeleter> format(raw);
    rc = avformat_find_stream_info(format.get(), nullptr);
    if (rc < 0) return {"cannot read stream information: " + AvError(rc), !is_file && IsTransient(rc)};
    const AVCodec* codec = nullptr;
    const int stream_index = av_find_best_stream(format.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream_index < 0 || !codec) {
      std::string reason = stream_index == AVERROR_DECODER_NOT_FOUND ? "no decoder for the video codec"
                                                                     : "no video stream in the source";
      return {reason, false};
    }
    // FFmpeg renders a text file as ANSI art video (the tty demuxer): a web page or a text answer is not
    // a camera.
    if (codec->id == AV_CODEC_ID_ANSI || std::string_view(format->iformat->name) == "tty")
      return {"the source is text, not video", false};
    AVStream* stream = format->streams[stream_index];
    std::unique_ptr<AVCodecContext, CodecDeleter> decoder(avcodec_alloc_context3(codec));
    if (!decoder || avcodec_parameters_to_context(decoder.get(), stream->codecpar) < 0)
      return {"cannot set up the decoder", false};
    // One thread per stream: several streams share the cores, and frame threading adds latency.
    decoder->thread_count = 1;
    bool hardware = SetUpHardware(decoder.get(), codec);
    rc = avcodec_open2(decoder.get(), codec, nullptr);
    if (rc < 0 && hardware) {
      ACCEL_LOG(kWarn, kLog) << redacted << ": hardware decoder (" << options.hwaccel
                             << ") failed to open: " << AvError(rc) << "; falling back to software";
      decoder.reset(avcodec_alloc_context3(codec));
      avcodec_parameters_to_context(decoder.get(), stream->codecpar);
      decoder->thread_count = 1;
      hardware = false;
      rc = avcodec_open2(decoder.get(), codec, nullptr);
    }
    if (rc < 0) return {"cannot open the " + std::string(codec->name) + " decoder: " + AvError(rc), false};
    {
      std::lock_guard<std::mutex> lock(mu);
      stats.codec = codec->name;
      stats.width = decoder->width;
      stats.height = decoder->height;
      stats.hardware = hardware;
    }

    std::unique_ptr<AVPacket, PacketDeleter> packet(av_packet_alloc());
    FramePtr frame(av_frame_alloc());
    bool running = false;
    int consecutive_errors = 0;
    // Files are read at their own frame rate, as a camera would deliver them (a file decoded flat out
    // would burn a core and make every sample a random jump). Each pass of a loop restarts the clock.
    const double time_base = av_q2d(stream->time_base);
    std::optional<double> first_pts;
    SteadyTime pass_start{};
    for (;;) {
      ArmDeadline(options.read_timeout);
      rc = av_read_frame(format.get(), packet.get());
      if (stopping) return {"stopped", true};
      if (rc == AVERROR_EOF && is_file) {
        if (!options.loop) return {"", true};
        // Replay: back to the start, decoder flushed.
        if (av_seek_frame(format.get(), stream_index, 0, AVSEEK_FLAG_BACKWARD) < 0)
          return {"cannot seek back to the start of the file", false};
        avcodec_flush_buffers(decoder.get());
        first_pts.reset();
        continue;
      }
      if (rc < 0) {
        if (rc == AVERROR_EXIT)
          return {"no data for " + std::to_string(options.read_timeout.count()) + " ms", true};
        if (rc == AVERROR_EOF) return {"the stream ended", true};
        return {"read error: " + AvError(rc), true};
      }
      if (packet->stream_index != stream_index) {
        av_packet_unref(packet.get());
        continue;
      }
      rc = avcodec_send_packet(decoder.get(), packet.get());
      av_packet_unref(packet.get());
      if (rc < 0 && rc != AVERROR(EAGAIN)) {
        CountDecodeError();
        if (++consecutive_errors >= 100) return {"the video cannot be decoded: " + AvError(rc), false};
        continue;
      }
      while ((rc = avcodec_receive_frame(decoder.get(), frame.get())) == 0) {
        if (frame->decode_error_flags != 0 || (frame->flags & AV_FRAME_FLAG_CORRUPT)) {
          CountDecodeError();
        }
        consecutive_errors = 0;
        *delivered = true;
        if (is_file && frame->best_effort_timestamp != AV_NOPTS_VALUE && time_base > 0) {
          const double pts = static_cast<double>(frame->best_effort_timestamp) * time_base;
          if (!first_pts || pts < *first_pts) {
            first_pts = pts;
            pass_start = std::chrono::steady_clock::now();
          }
          const auto due =
              pass_start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(std::min(pts - *first_pts, 3600.0)));
          const auto wait = due - std::chrono::steady_clock::now();
          if (wait > std::chrono::steady_clock::duration::zero() &&
              !Sleep(std::chrono::duration_cast<std::chrono::milliseconds>(wait)))
            return {"stopped", true};
        }
        if (!running) {
          running = true;
          SetState(SourceState::kRunning, "");
        }
        Publish(std::move(frame));
        frame.reset(av_frame_alloc());
      }
      if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
        CountDecodeError();
        if (++consecutive_errors >= 100) return {"the video cannot be decoded: " + AvError(rc), false};
      }
    }
  }

  bool SetUpHardware(AVCodecContext* decoder, const AVCodec* codec) {
    if (options.hwaccel.empty()) return false;
    const AVHWDeviceType type = av_hwdevice_find_type_by_name(options.hwaccel.c_str());
    if (type == AV_HWDEVICE_TYPE_NONE) {
      ACCEL_LOG(kWarn, kLog) << redacted << ": unknown hwaccel '" << options.hwaccel
                             << "'; decoding in software";
      return false;
    }
    AVPixelFormat surface = AV_PIX_FMT_NONE;
    for (int i = 0;; ++i) {
      const AVCodecHWConfig* config = avcodec_get_hw_config(codec, i);
      if (!config) break;
      if ((config->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) && config->device_type == type) {
        surface = config->pix_fmt;
        break;
      }
    }
    if (surface == AV_PIX_FMT_NONE) {
      ACCEL_LOG(kWarn, kLog) << redacted << ": the " << codec->name << " decoder has no " << options.hwaccel
                             << " support; decoding in software";
      return false;
    }
    AVBufferRef* device = nullptr;
    const int rc = av_hwdevice_ctx_create(&device, type, nullptr, nullptr, 0);
    if (rc < 0) {
      ACCEL_LOG(kWarn, kLog) << redacted << ": no " << options.hwaccel << " device (" << AvError(rc)
                             << "); decoding in software";
      return false;
    }
    decoder->hw_device_ctx = device;  // the decoder owns the reference now
    {
      std::lock_guard<std::mutex> lock(mu);
      hw_format = surface;
    }
    return true;
  }

  void CountDecodeError() {
    std::lock_guard<std::mutex> lock(mu);
    ++stats.decode_errors;
  }

  void Publish(FramePtr frame) {
    const SteadyTime now = std::chrono::steady_clock::now();
    const double unix_now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    FramePtr old;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (newest) ++stats.dropped;
      old = std::move(newest);  // freed outside the lock
      newest = std::move(frame);
      newest_index = ++stats.decoded;
      newest_decoded_at = now;
      newest_unix_time = unix_now;
    }
    cv.notify_all();
  }

  // Converts `frame` (software or hardware surface) to RGB at the fitted size.
  std::optional<Image> ToRgb(AVFrame* frame) {
    FramePtr software;
    AVPixelFormat surface;
    {
      std::lock_guard<std::mutex> lock(mu);
      surface = hw_format;
    }
    if (surface != AV_PIX_FMT_NONE && frame->format == surface) {
      software.reset(av_frame_alloc());
      if (av_hwframe_transfer_data(software.get(), frame, 0) < 0) return std::nullopt;
      frame = software.get();
    }
    const int width = frame->width, height = frame->height;
    if (width <= 0 || height <= 0) return std::nullopt;
    int out_width = width, out_height = height;
    if (options.fit_width > 0 && options.fit_height > 0) {
      const double scale = std::min({1.0, static_cast<double>(options.fit_width) / width,
                                     static_cast<double>(options.fit_height) / height});
      out_width = std::max(1, static_cast<int>(width * scale + 0.5));
      out_height = std::max(1, static_cast<int>(height * scale + 0.5));
    }
    std::lock_guard<std::mutex> lock(convert_mu);
    sws = sws_getCachedContext(sws, width, height, static_cast<AVPixelFormat>(frame->format), out_width,
                               out_height, AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr, nullptr, nullptr);
    if (!sws) return std::nullopt;
    Image image;
    image.width = out_width;
    image.height = out_height;
    image.original_width = width;
    image.original_height = height;
    image.rgb.resize(static_cast<size_t>(out_width) * out_height * 3);
    uint8_t* planes[4] = {image.rgb.data(), nullptr, nullptr, nullptr};
    int strides[4] = {out_width * 3, 0, 0, 0};
    if (sws_scale(sws, frame->data, frame->linesize, 0, height, planes, strides) != out_height)
      return std::nullopt;
    return image;
  }
};

FrameSource::FrameSource(FrameSourceOptions options)
    : impl_(std::make_unique<Impl>()), redacted_url_(RedactUrl(options.url)) {
  impl_->options = std::move(options);
  impl_->redacted = redacted_url_;
}

FrameSource::~FrameSource() { Stop(); }

void FrameSource::Start() {
  if (impl_->thread.joinable()) return;
  impl_->SetState(SourceState::kConnecting, "");
  impl_->thread = std::thread([impl = impl_.get()] { impl->Run(); });
}

void FrameSource::Stop() {
  impl_->stopping = true;
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->newest.reset();
}

std::optional<DecodedFrame> FrameSource::TakeNewest(std::uint64_t after) {
  FramePtr frame;
  DecodedFrame out;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->newest || impl_->newest_index <= after) return std::nullopt;
    frame = std::move(impl_->newest);
    out.index = impl_->newest_index;
    out.decoded_at = impl_->newest_decoded_at;
    out.unix_time = impl_->newest_unix_time;
  }
  auto image = impl_->ToRgb(frame.get());
  if (!image) {
    impl_->CountDecodeError();
    return std::nullopt;
  }
  out.image = std::move(*image);
  return out;
}

bool FrameSource::WaitForFrame(std::uint64_t after, SteadyTime deadline) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait_until(lock, deadline, [&] {
    return impl_->stopping.load() || (impl_->newest && impl_->newest_index > after);
  });
  return impl_->newest && impl_->newest_index > after;
}

FrameSourceStats FrameSource::Stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

}  // namespace accel
