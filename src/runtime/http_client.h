#pragma once
// The one HTTP client: keep-alive connection pool per upstream (scheme, host, port), connect
// and request timeouts, TLS, bounded response size, and trace context propagation.
// A Client belongs to one io_context; use it from coroutines running on that context.
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "runtime/async.h"
#include "runtime/error.h"
#include "runtime/http_types.h"

namespace boost::asio {
class io_context;
}

namespace stoa::http {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds request_timeout{10'000};  // from sending to the last body byte
  std::size_t max_response_bytes = 8 * 1024 * 1024;
  std::size_t max_idle_per_upstream = 16;
  std::chrono::milliseconds idle_timeout{30'000};  // pooled connections older than this close
  bool verify_tls = true;
  std::string ca_file;  // PEM bundle; empty: the system's
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http://host:port/path?query or https://...
  Headers headers;
  std::string body;
  // When valid, sent as traceparent/tracestate (the callee's parent is trace.span_id).
  TraceContext trace;
  std::optional<std::chrono::milliseconds> timeout;  // overrides request_timeout
};

class Client {
 public:
  explicit Client(boost::asio::io_context& context, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Errors: invalid_argument (bad URL), unavailable (connect failed), timeout, too_large
  // (response over max_response_bytes), protocol (malformed response), io.
  Awaitable<Result<Response>> send(ClientRequest request);

  // Idle pooled connections right now (for tests and metrics).
  std::size_t idle_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace stoa::http
