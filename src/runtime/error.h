#pragma once
// The one error type of Stoa: a code that callers branch on, and a message for people.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace stoa {

enum class Errc {
  invalid_argument,  // the caller's input is wrong
  not_found,
  timeout,      // a deadline passed
  unavailable,  // a dependency could not be reached
  too_large,    // an input exceeded a bound
  protocol,     // a peer spoke the protocol wrongly
  io,           // the operating system refused
  cancelled,
  conflict,  // the input conflicts with stored state (a duplicate key, a failed precondition)
  aborted,   // a transaction lost a race (serialization failure, deadlock): retrying may succeed
  unauthenticated,     // the caller's credentials are missing or invalid (HTTP 401)
  permission_denied,   // the caller is known but not allowed (HTTP 403)
  resource_exhausted,  // a quota or rate limit is used up: retry later (HTTP 429)
  internal,
};

const char* to_string(Errc code);

// Untrusted text for an error message: in double quotes, cut after `max_chars` ("..."),
// with control, quote, backslash and non-ASCII bytes written as \xNN.
std::string quote_for_message(std::string_view text, std::size_t max_chars = 64);
// A backend URL for an error message: "postgresql://user:secret@host/db" -> "postgresql://...".
// A URL may carry a password, so only its scheme is shown.
std::string quote_url_for_message(std::string_view url);

struct Error {
  Errc code = Errc::internal;
  std::string message;
  // How long the caller should wait before trying again (resource_exhausted, unavailable):
  // answered as Retry-After. 0: no advice.
  std::chrono::seconds retry_after{0};
};

// A value or an Error. Deliberately small: no monadic chains, just ok()/value()/error().
template <class T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// For operations that return nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace stoa
