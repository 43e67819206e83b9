// Status and Result<T>: how every fallible call in nrm reports, on every path a peer, a file or
// the clock controls. No exceptions cross a module boundary. Value types; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace nrm {

enum class Code {
  kOk = 0,
  kInvalidArgument,   // malformed input: a frame, a file, a flag
  kUnauthenticated,   // a signature or a key that does not check out
  kPermissionDenied,  // policy refuses, or a file's permissions are unsafe
  kNotFound,
  kAlreadyExists,      // e.g. a replayed message id
  kResourceExhausted,  // back-pressure, a full disk
  kUnavailable,        // try again later
  kCorruption,         // stored data that fails its checks
  kIOError,
  kUnimplemented,  // a part not built yet: says so, never pretends
  kInternal,       // a bug of ours
};

// The stable lower-case name of a code ("invalid_argument"), as it appears on the wire.
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "permission_denied: no rule allows police -> ngo" or "ok".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context`.
  Status WithContext(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
inline Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {Code::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

// A value or the Status that explains why there is none. Never holds an OK status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) v_ = Status(Code::kInternal, "Result built from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& operator*() & { return std::get<T>(v_); }
  const T& operator*() const& { return std::get<T>(v_); }
  T&& operator*() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }

  // The error, or OK when there is a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace nrm

#define NRM_CONCAT_INNER_(a, b) a##b
#define NRM_CONCAT_(a, b) NRM_CONCAT_INNER_(a, b)

#define NRM_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::nrm::Status nrm_status_ = (expr);        \
    if (!nrm_status_.ok()) return nrm_status_; \
  } while (0)

#define NRM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(*tmp)

// NRM_ASSIGN_OR_RETURN(auto x, Foo()): declares x from Foo()'s value or returns its error.
// __COUNTER__ is expanded once, by the extra macro level, so a call spanning several lines
// still names one temporary.
#define NRM_ASSIGN_OR_RETURN(lhs, expr) NRM_ASSIGN_OR_RETURN_N_(__COUNTER__, lhs, expr)
#define NRM_ASSIGN_OR_RETURN_N_(n, lhs, expr) \
  NRM_ASSIGN_OR_RETURN_IMPL_(NRM_CONCAT_(nrm_result_, n), lhs, expr)

// For our own invariants only, never for anything a peer, a file or the clock controls.
#define NRM_CHECK(cond)                                                   \
  do {                                                                    \
    if (!(cond)) ::nrm::internal::CheckFailed(#cond, __FILE__, __LINE__); \
  } while (0)

namespace nrm::internal {
[[noreturn]] void CheckFailed(const char* cond, const char* file, int line);
}
