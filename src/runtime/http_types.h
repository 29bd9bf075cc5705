#pragma once
// Plain HTTP request and response values, independent of the parser that produced them.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/async.h"
#include "runtime/error.h"
#include "runtime/http/caller.h"
#include "runtime/trace_context.h"

namespace stoa::http {

// Header names compare case-insensitively; order and repeats are kept as received.
class Headers {
 public:
  void add(std::string name, std::string value);
  // Replaces every header of that name with one.
  void set(std::string_view name, std::string value);
  void remove(std::string_view name);
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }

  using Entry = std::pair<std::string, std::string>;
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

bool iequals(std::string_view a, std::string_view b);

// A request body the handler pulls as it goes (routes with RouteOptions::stream_body), so that
// an upload of any size passes through a bounded buffer. The connection is read only when
// read() is called: a handler that consumes slower than the client sends slows the client
// down (TCP backpressure). `Expect: 100-continue` is answered on the first read, so a handler
// that refuses the request before reading spares the client sending the body.
class RequestBody {
 public:
  virtual ~RequestBody() = default;
  // Up to out.size() bytes of the body; 0 at its end. Errors: too_large (a chunked body passed
  // limit()), timeout (the client sent nothing for [http] body_timeout), protocol (malformed
  // chunked framing), io (the connection broke). After an error the body is unusable and the
  // connection closes after the response.
  virtual Awaitable<Result<std::size_t>> read(std::span<char> out) = 0;
  // The Content-Length when the client declared one (a chunked body has none). The server
  // has already refused a declared length over limit() with 413.
  virtual std::optional<std::uint64_t> declared_length() const = 0;
  virtual std::uint64_t limit() const = 0;
};

struct Request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // the raw request-target
  std::string path;    // target before '?', still percent-encoded
  std::string query;   // target after '?', without it
  unsigned version = 11;
  Headers headers;
  std::string body;  // empty on streamed routes: read body_stream instead
  // Streamed routes only: the body, valid until the handler returns.
  RequestBody* body_stream = nullptr;

  // Filled by the server and router.
  std::vector<std::pair<std::string, std::string>> params;  // path template parameters, decoded
  std::string route;       // the matched path template, "" when none matched
  std::string request_id;  // from X-Request-Id when well-formed, otherwise generated
  std::string remote_address;
  TraceContext trace;  // the span this request runs in (a child of an incoming traceparent)
  std::chrono::steady_clock::time_point received_at{};
  // Set by an authentication filter when the caller proved who it is; empty otherwise (no
  // such filter on the route, or optional authentication without credentials).
  std::optional<Caller> caller;

  std::optional<std::string_view> param(std::string_view name) const;
  std::optional<std::string> query_param(std::string_view name) const;  // decoded
};

// A response body of known length produced piece by piece (a large file), so that it never
// has to be in memory whole. The server reads it in chunks as the client takes them.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual std::uint64_t size() const = 0;
  // Fills the front of `out` with the next bytes and returns how many. Returning 0 before
  // size() bytes were produced (a read error) cuts the response short: the connection closes,
  // so the client sees an incomplete body rather than a wrong one.
  virtual Awaitable<std::size_t> read(std::span<char> out) = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When set, the body instead of `body` (Content-Length is stream->size()); a HEAD request
  // gets that length without the stream being read.
  std::shared_ptr<BodyStream> stream;

  static Response text(int status, std::string body);
  static Response json(int status, std::string body);
};

// "%41" -> "A"; nullopt when an escape is malformed. '+' is kept as is unless form_encoding.
std::optional<std::string> percent_decode(std::string_view in, bool form_encoding = false);

std::string_view reason_phrase(int status);

}  // namespace stoa::http
