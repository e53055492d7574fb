// Status and StatusOr: the error currency of Accel. No exceptions cross the engine boundary or the request
// path; every fallible function returns one of these. Codes map one-to-one onto HTTP status codes
// (HttpStatusFor) so the API layer never has to guess.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace accel {

enum class StatusCode {
  kOk,
  kInvalidArgument,       // 400: the client sent something malformed
  kNotFound,              // 404: unknown model, route or device
  kPayloadTooLarge,       // 413: body or image dimensions over the documented limits
  kUnsupportedMediaType,  // 415: content type or image format we do not read
  kUnavailable,           // 503: no device can serve (none loaded, all failed)
  kResourceExhausted,     // 503 + Retry-After: every eligible queue is full (backpressure)
  kDeadlineExceeded,      // 504: the request's deadline passed before it could be served
  kFailedPrecondition,    // 409: the operation is not valid in the current state
  kUnimplemented,         // 501
  kCancelled,             // 499-ish; mapped to 503 for HTTP
  kInternal,              // 500: our own fault
  kUnauthenticated,       // 401: no credential, or a wrong one
  kPermissionDenied,      // 403: a valid credential that does not allow this operation
};

std::string_view StatusCodeName(StatusCode code);
int HttpStatusFor(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: model 'x' is not loaded"
  std::string ToString() const;
  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status PayloadTooLarge(std::string m) { return {StatusCode::kPayloadTooLarge, std::move(m)}; }
inline Status UnsupportedMediaType(std::string m) {
  return {StatusCode::kUnsupportedMediaType, std::move(m)};
}
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }

// Holds either a value or a non-OK Status. Accessing value() of an error is a programming error (asserts).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : data_(std::move(value)) {}        // NOLINT: implicit by design
  StatusOr(Status status) : data_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(data_).ok() && "StatusOr built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(data_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(data_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(data_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(data_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace accel

// Early-return helpers. ACCEL_ASSIGN_OR_RETURN(auto x, Foo()) declares x from a StatusOr or returns its
// error.
#define ACCEL_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::accel::Status accel_status_ = (expr);        \
    if (!accel_status_.ok()) return accel_status_; \
  } while (0)

#define ACCEL_CONCAT_INNER(a, b) a##b
#define ACCEL_CONCAT(a, b) ACCEL_CONCAT_INNER(a, b)
#define ACCEL_ASSIGN_OR_RETURN(lhs, expr)                    \
  auto ACCEL_CONCAT(accel_statusor_, __LINE__) = (expr);     \
  if (!ACCEL_CONCAT(accel_statusor_, __LINE__).ok())         \
    return ACCEL_CONCAT(accel_statusor_, __LINE__).status(); \
  lhs = std::move(ACCEL_CONCAT(accel_statusor_, __LINE__)).value()
