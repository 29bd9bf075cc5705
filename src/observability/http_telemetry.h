#pragma once
// The telemetry of one HTTP server (one component): W3C trace context in, a SERVER span,
// request metrics and one access-log line per request out.
#include <chrono>
#include <string>
#include <string_view>

#include "observability/metrics.h"
#include "runtime/server_observer.h"

namespace stoa::obs {

class Logger;
class Tracer;

// http_route label and span route for requests that matched no route (404, 405, OPTIONS):
// never the raw path, so that metric cardinality stays bounded.
inline constexpr std::string_view kUnmatchedRoute = "unmatched";

// OpenTelemetry's http.request.method: the known methods as sent, anything else "_OTHER".
std::string_view normalize_method(std::string_view method);

class HttpTelemetry final : public http::ServerObserver {
 public:
  // `logger` defaults to the process-wide one; `access_log` is [log] access.
  HttpTelemetry(std::string component, Metrics& metrics, Tracer& tracer, bool access_log,
                Logger* logger = nullptr);

  const std::string& component() const { return component_; }

  void connection_opened() override;
  void connection_closed() override;
  // Continues an incoming traceparent (tracestate kept when valid and within bounds), or
  // starts a new trace: request.trace becomes this request's SERVER span.
  void request_started(http::Request& request) override;
  void request_finished(const http::Request& request, const http::Response& response,
                        std::chrono::nanoseconds duration) override;
  void request_rejected(int status, std::string_view reason) override;
  void server_error(std::string_view what, std::string_view detail) override;

 private:
  std::string component_;
  Metrics& metrics_;
  Tracer& tracer_;
  Logger& logger_;
  bool access_log_;
  Gauge active_requests_;
  Gauge open_connections_;
};

}  // namespace stoa::obs
