// FrameSource: one video source (RTSP, HTTP(S) MJPEG/HLS, a file, a V4L2 device) decoded with FFmpeg's
// libraries on its own thread. It keeps only the newest decoded frame (never a queue): a consumer takes it
// when it wants one, and frames replaced before anyone took them count as dropped. Conversion to RGB
// (swscale) happens when a frame is taken, so frames nobody samples cost only their decoding.
//
// A source that stops delivering (error, end of a live stream, no packet within the read timeout) is
// reopened with exponential back-off (1 s, 2 s, 4 s .. 30 s) while its state says `reconnecting` and why.
// Errors that reopening cannot cure (no such file, data that is not video, an unsupported codec) end in
// `failed` after `max_attempts` consecutive tries; network errors (refused, unreachable, timed out) are
// retried for as long as the source exists, since cameras come and go. URLs are only ever shown redacted
// (RedactUrl).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "vision/image.h"

namespace accel {

enum class SourceState { kConnecting, kRunning, kReconnecting, kFailed, kEnded, kStopped };
const char* SourceStateName(SourceState state);  // "connecting", "running", ..., "ended", "stopped"

struct FrameSourceOptions {
  std::string url;    // rtsp://, rtsps://, http://, https://, file path or file://, /dev/videoN
  bool loop = false;  // files: start again at the end instead of ending
  // "": software decoding. "vaapi" / "cuda": try that hardware decoder, fall back to software (logged).
  std::string hwaccel;
  // When > 0, taken frames are scaled down (never up) to fit this size with their aspect kept: the
  // letterbox a detection model of this input size would make anyway. Boxes stay in stream pixels
  // (Image::original_width/height hold the stream's size).
  int fit_width = 0;
  int fit_height = 0;
  std::chrono::milliseconds open_timeout{10000};  // connect + probe
  std::chrono::milliseconds read_timeout{5000};   // no packet for this long: a stall, reconnect
  std::chrono::milliseconds min_backoff{1000};
  std::chrono::milliseconds max_backoff{30000};
  int max_attempts = 3;  // consecutive failures of a permanent kind before `failed`
};

struct DecodedFrame {
  Image image;              // RGB, possibly scaled (see fit_width); original_* = stream size
  std::uint64_t index = 0;  // decoded-frame counter of the source, from 1
  SteadyTime decoded_at;    // steady clock, when decoding finished
  double unix_time = 0;     // wall clock, the same moment
};

struct FrameSourceStats {
  SourceState state = SourceState::kConnecting;
  std::string reason;  // why the state is what it is (empty while running); URLs redacted
  std::uint64_t decoded = 0;
  std::uint64_t dropped = 0;  // decoded frames replaced by a newer one before being taken
  std::uint64_t decode_errors = 0;
  std::uint64_t reconnects = 0;  // reopen attempts after the first
  int width = 0;                 // stream frame size, 0 until known
  int height = 0;
  std::string codec;
  bool hardware = false;  // frames come from a hardware decoder
};

class FrameSource {
 public:
  explicit FrameSource(FrameSourceOptions options);
  ~FrameSource();  // Stop()
  FrameSource(const FrameSource&) = delete;
  FrameSource& operator=(const FrameSource&) = delete;

  void Start();
  // Stops the decoding thread: a blocked open or read returns within ~100 ms (interrupt callback).
  // Idempotent.
  void Stop();

  // The newest frame decoded after frame `after`, converted to RGB; nullopt when there is none yet.
  // Thread-safe; meant for one consumer.
  std::optional<DecodedFrame> TakeNewest(std::uint64_t after);
  // Waits until a frame newer than `after` exists or `deadline` passes (or Stop). True if one exists.
  bool WaitForFrame(std::uint64_t after, SteadyTime deadline);

  FrameSourceStats Stats() const;
  const std::string& redacted_url() const { return redacted_url_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string redacted_url_;
};

// `scheme://user:***@host/...` for URLs with a password, `scheme://***@host/...` for a user name alone
// (often a token); other text unchanged. RedactUrlsInText does it to every URL inside free text (FFmpeg
// messages).
std::string RedactUrl(std::string_view url);
std::string RedactUrlsInText(std::string_view text);

// The source kind a URL names: "rtsp", "http", "file", "v4l2"; "" when the scheme is not one Accel reads.
std::string SourceKindOf(std::string_view url);

}  // namespace accel
