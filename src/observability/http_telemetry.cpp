#include "observability/http_telemetry.h"

#include <array>
#include <cmath>

#include "observability/log.h"
#include "observability/tracer.h"

namespace stoa::obs {

std::string_view normalize_method(std::string_view method) {
  static constexpr std::array<std::string_view, 9> kKnown{
      "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (const auto known : kKnown) {
    if (method == known) return known;
  }
  return "_OTHER";
}

HttpTelemetry::HttpTelemetry(std::string component, Metrics& metrics, Tracer& tracer,
                             bool access_log, Logger* logger)
    : component_(std::move(component)),
      metrics_(metrics),
      tracer_(tracer),
      logger_(logger != nullptr ? *logger : obs::logger()),
      access_log_(access_log),
      active_requests_(metrics.http_active_requests(component_)),
      open_connections_(metrics.http_open_connections(component_)) {}

void HttpTelemetry::connection_opened() {
  open_connections_.inc();
}

void HttpTelemetry::connection_closed() {
  open_connections_.dec();
}

void HttpTelemetry::request_started(http::Request& request) {
  // The server span continues the caller's trace (a child of its span), or starts a new one.
  TraceContext incoming;
  if (const auto header = request.headers.get("traceparent")) {
    if (auto parsed = parse_traceparent(*header)) {
      incoming = std::move(*parsed);
      incoming.tracestate.clear();
      if (const auto state = request.headers.get("tracestate")) {
        incoming.tracestate = sanitize_tracestate(*state).value_or("");
      }
    }
  }
  request.trace = TraceContext::child_of(incoming);
  request.trace.recording = tracer_.admit(incoming);
  active_requests_.inc();
}

void HttpTelemetry::request_finished(const http::Request& request, const http::Response& response,
                                     std::chrono::nanoseconds duration) {
  active_requests_.dec();
  const std::string_view method = normalize_method(request.method);
  const bool matched = !request.route.empty();
  const std::string_view route = matched ? std::string_view(request.route) : kUnmatchedRoute;
  const double seconds = std::chrono::duration<double>(duration).count();
  metrics_.observe_http_request(component_, method, route, response.status, seconds);

  if (request.trace.valid() && request.trace.recording) {
    SpanRecord span;
    span.trace_id = request.trace.trace_id;
    span.span_id = request.trace.span_id;
    span.parent_span_id = request.trace.parent_span_id;
    span.sampled = request.trace.sampled();
    span.kind = SpanKind::server;
    // OpenTelemetry HTTP server span names: "{method} {route}", or "{method}" when no route
    // matched ("HTTP" for unknown methods).
    span.name = method == "_OTHER" ? "HTTP" : std::string(method);
    if (matched) {
      span.name.push_back(' ');
      span.name.append(request.route);
    }
    span.end = std::chrono::system_clock::now();
    span.start =
        span.end - std::chrono::duration_cast<std::chrono::system_clock::duration>(duration);
    span.attributes.reserve(8);
    span.attributes.emplace_back("http.request.method", std::string(method));
    if (method == "_OTHER") {
      span.attributes.emplace_back("http.request.method_original", request.method);
    }
    span.attributes.emplace_back("url.path", request.path);
    if (matched) span.attributes.emplace_back("http.route", request.route);
    span.attributes.emplace_back("http.response.status_code",
                                 static_cast<std::int64_t>(response.status));
    span.attributes.emplace_back("stoa.component", component_);
    if (!request.request_id.empty()) {
      span.attributes.emplace_back("stoa.request_id", request.request_id);
    }
    // Server spans: 5xx is an error; 4xx is the client's and leaves the status unset.
    if (response.status >= 500) span.status = SpanStatus::error;
    tracer_.record(std::move(span));
  }

  const Level level = response.status >= 500 ? Level::warn : Level::info;
  if (access_log_ && logger_.enabled(level)) {
    // Microsecond resolution is plenty and keeps the line short.
    const double duration_ms =
        std::round(std::chrono::duration<double, std::milli>(duration).count() * 1000) / 1000;
    // The path only: the query string may carry secrets.
    const LogField fields[] = {
        {"method", request.method},
        {"path", request.path},
        {"route", route},
        {"status", response.status},
        {"duration_ms", duration_ms},
        {"bytes_in", request.body.size()},
        {"bytes_out", response.body.size()},
        {"remote_address", request.remote_address},
        {"request_id", request.request_id},
    };
    logger_.log(level, component_, "request", fields, &request.trace);
  }
}

void HttpTelemetry::request_rejected(int status, std::string_view reason) {
  metrics_.http_rejected_requests(component_, status).inc();
  if (logger_.enabled(Level::debug)) {
    logger_.log(Level::debug, component_, "request rejected",
                {{"status", status}, {"reason", reason}});
  }
}

void HttpTelemetry::server_error(std::string_view what, std::string_view detail) {
  logger_.log(Level::warn, component_, "server error", {{"what", what}, {"detail", detail}});
}

}  // namespace stoa::obs
