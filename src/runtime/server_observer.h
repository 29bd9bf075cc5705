#pragma once
// What an HTTP server reports about its work. The observability layer implements this
// (metrics, spans, access logs); the runtime itself knows no log or metric format.
#include <chrono>
#include <string_view>

#include "runtime/http_types.h"

namespace stoa::http {

class ServerObserver {
 public:
  virtual ~ServerObserver() = default;
  virtual void connection_opened() {}
  virtual void connection_closed() {}
  // Called once the request head is read and routed, before the handler runs. It may set
  // request.trace (for example from an incoming traceparent).
  virtual void request_started(Request& /*request*/) {}
  // Called after the response is written (or failed to be).
  virtual void request_finished(const Request& /*request*/, const Response& /*response*/,
                                std::chrono::nanoseconds /*duration*/) {}
  // A request the server refused before routing (400, 408, 413, 431): counted, not traced.
  virtual void request_rejected(int /*status*/, std::string_view /*reason*/) {}
  // Something went wrong that no request owns (accept failure, TLS setup...).
  virtual void server_error(std::string_view /*what*/, std::string_view /*detail*/) {}
};

}  // namespace stoa::http
