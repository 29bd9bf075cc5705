#include "observability/telemetry.h"

#include "runtime/config.h"

namespace stoa::obs {

Telemetry::Telemetry(const Config& config)
    : access_log_(config.boolean("log.access")),
      tracer_(std::make_unique<Tracer>(TracerOptions::from_config(config))) {
  configure_logging(config);
  register_own_metrics();
}

Telemetry::Telemetry(TracerOptions tracing, bool access_log)
    : access_log_(access_log), tracer_(std::make_unique<Tracer>(std::move(tracing))) {
  register_own_metrics();
}

Telemetry::~Telemetry() {
  shutdown();
}

void Telemetry::register_own_metrics() {
  Tracer* tracer = tracer_.get();
  metrics_.counter_callback("stoa_log_lines_dropped_total",
                            "Log lines dropped because the log queue was full or the output "
                            "refused them.",
                            [] { return static_cast<double>(obs::logger().dropped_lines()); });
  metrics_.counter_callback(
      "stoa_tracing_spans_dropped_total",
      "Spans not exported: the export queue was full or the collector did not take them.",
      [tracer] { return static_cast<double>(tracer->stats().dropped); });
  metrics_.counter_callback("stoa_tracing_spans_exported_total",
                            "Spans the OTLP collector accepted.",
                            [tracer] { return static_cast<double>(tracer->stats().exported); });
}

HttpTelemetry& Telemetry::observer_for(const std::string& component) {
  std::lock_guard lock(observers_mutex_);
  auto found = observers_.find(component);
  if (found == observers_.end()) {
    found = observers_
                .emplace(component, std::make_unique<HttpTelemetry>(component, metrics_, *tracer_,
                                                                    access_log_))
                .first;
  }
  return *found->second;
}

void Telemetry::shutdown(std::chrono::milliseconds deadline) {
  tracer_->shutdown(deadline);
  obs::logger().flush(deadline);
}

}  // namespace stoa::obs
