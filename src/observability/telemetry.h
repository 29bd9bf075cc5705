#pragma once
// The observability of one process: it configures the process-wide logger from [log], owns
// the Metrics and the Tracer (whose exporter starts when tracing.otlp is set) and hands out
// one HttpTelemetry per served component.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "observability/http_telemetry.h"
#include "observability/log.h"
#include "observability/metrics.h"
#include "observability/tracer.h"

namespace stoa {
class Config;
}

namespace stoa::obs {

class Telemetry {
 public:
  // Throws std::invalid_argument naming the key when [tracing] or [log] holds a bad value.
  explicit Telemetry(const Config& config);
  // For tests and tools: explicit options, the process-wide logger left as it is.
  Telemetry(TracerOptions tracing, bool access_log);
  // shutdown()
  ~Telemetry();
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  Metrics& metrics() { return metrics_; }
  Tracer& tracer() { return *tracer_; }
  Logger& logger() { return obs::logger(); }

  // The observer for `component`'s HTTP server: created on first use, then the same
  // object; references stay valid as long as the Telemetry. Thread-safe.
  HttpTelemetry& observer_for(const std::string& component);

  // Exports the spans it can and flushes the logs, each within `deadline`. Idempotent.
  void shutdown(std::chrono::milliseconds deadline = std::chrono::seconds(2));

 private:
  void register_own_metrics();

  bool access_log_ = true;
  Metrics metrics_;
  std::unique_ptr<Tracer> tracer_;
  std::mutex observers_mutex_;
  std::map<std::string, std::unique_ptr<HttpTelemetry>, std::less<>> observers_;
};

}  // namespace stoa::obs
