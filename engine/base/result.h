// Error values for the engine. Every fallible engine function returns a Result<T> (shaped like
// std::expected so moving to C++23 is mechanical); exceptions stay inside dependencies and are
// converted at the edges. Values are cheap to copy; thread safety is that of a std::string.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace fapo {

enum class ErrorCode {
  kInvalidInput,    // user data or configuration is wrong; message says where and what
  kNotFound,        // a file, tenant, run or case does not exist
  kIo,              // the file system failed
  kModelTransient,  // a model call failed in a way a retry may fix (429, 5xx, timeout)
  kModelPermanent,  // a model call failed for good (bad key, unknown model, bad request)
  kScorer,          // a scorer could not score (crashed, printed garbage)
  kCancelled,       // cooperative cancellation
  kConflict,        // state on disk disagrees with the request (fingerprint mismatch, ...)
  kInternal,        // a dependency threw something unexpected
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Prefixes context as the error bubbles up: "loading tenant 'qa': <message>".
  [[nodiscard]] Error with_context(const std::string& context) const {
    return Error{code, context + ": " + message};
  }
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

// Result<T> holds either a value or an Error. Access to the wrong alternative is a bug (assert).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design, like expected
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(state_); }
  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace fapo

// Early return of the error of a Result-valued expression.
#define FAPO_RETURN_IF_ERROR(expr)               \
  do {                                           \
    auto fapo_status_ = (expr);                  \
    if (!fapo_status_.ok()) return fapo_status_.error(); \
  } while (0)

#define FAPO_CONCAT_INNER(a, b) a##b
#define FAPO_CONCAT(a, b) FAPO_CONCAT_INNER(a, b)
// FAPO_ASSIGN_OR_RETURN(auto x, make_x()); binds the value or returns the error.
#define FAPO_ASSIGN_OR_RETURN(decl, expr)                              \
  auto FAPO_CONCAT(fapo_result_, __LINE__) = (expr);                   \
  if (!FAPO_CONCAT(fapo_result_, __LINE__).ok())                       \
    return FAPO_CONCAT(fapo_result_, __LINE__).error();                \
  decl = std::move(FAPO_CONCAT(fapo_result_, __LINE__)).value()
