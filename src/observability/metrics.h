#pragma once
// Prometheus metrics (text exposition format 0.0.4), named after the OpenTelemetry semantic
// conventions in their Prometheus form. prometheus-cpp stays inside metrics.cpp: other
// layers register and update metrics through the small handle types below.
//
//   obs::Counter sent = metrics.counter("stoa_messaging_published_total",
//                                       "Events published to the broker.", {{"topic", t}});
//   sent.inc();
//
// Handles are cheap to copy and stay valid as long as the Metrics object. Look a handle up
// once (at start-up, or cached per label set) and keep it: registering takes a lock.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace stoa::obs {

// Label names and values of one series.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  Counter() = default;            // a handle that ignores updates
  void inc(double amount = 1.0);  // amount must be >= 0
  double value() const;

 private:
  friend class Metrics;
  explicit Counter(prometheus::Counter* counter) : counter_(counter) {}
  prometheus::Counter* counter_ = nullptr;
};

class Gauge {
 public:
  Gauge() = default;
  void inc(double amount = 1.0);
  void dec(double amount = 1.0);
  void set(double value);
  double value() const;

 private:
  friend class Metrics;
  explicit Gauge(prometheus::Gauge* gauge) : gauge_(gauge) {}
  prometheus::Gauge* gauge_ = nullptr;
};

class Histogram {
 public:
  Histogram() = default;
  void observe(double value);

 private:
  friend class Metrics;
  explicit Histogram(prometheus::Histogram* histogram) : histogram_(histogram) {}
  prometheus::Histogram* histogram_ = nullptr;
};

// Buckets of http_server_request_duration_seconds: OpenTelemetry's advice (5 ms .. 10 s)
// with 0.5, 1 and 2.5 ms added for fast local services.
const std::vector<double>& http_duration_buckets();

class Metrics {
 public:
  // Registers the HTTP server metrics and the process collector (process_* read from /proc
  // at scrape time).
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // --- registration for any layer --------------------------------------------------------
  // The same name and labels return the same series. Throws std::invalid_argument for an
  // invalid metric or label name, or a name already registered with another type.
  // Counter names should end in _total; help must not be empty.
  Counter counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  // `buckets`: increasing upper bounds (+Inf is implied).
  Histogram histogram(std::string_view name, std::string_view help,
                      const std::vector<double>& buckets, const Labels& labels = {});
  // A counter or gauge whose value is read at scrape time (from `read`, which must be
  // thread-safe and quick). Registering a name twice replaces the callback.
  void counter_callback(std::string_view name, std::string_view help, std::function<double()> read);
  void gauge_callback(std::string_view name, std::string_view help, std::function<double()> read);

  // --- HTTP server metrics (used by HttpTelemetry) ----------------------------------------
  // http_server_request_duration_seconds{http_request_method, http_route,
  //   http_response_status_code, stoa_component}. `method` must already be normalised
  // (known methods or "_OTHER") and `route` a template, so that cardinality stays bounded.
  // Lock-free after the first observation of a label set on a thread.
  void observe_http_request(std::string_view component, std::string_view method,
                            std::string_view route, int status, double seconds);
  // http_server_active_requests{stoa_component}
  Gauge http_active_requests(std::string_view component);
  // stoa_http_server_open_connections{stoa_component}
  Gauge http_open_connections(std::string_view component);
  // stoa_http_server_rejected_requests_total{stoa_component, http_response_status_code}
  Counter http_rejected_requests(std::string_view component, int status);

  // The text exposition of every metric (format 0.0.4).
  std::string expose() const;
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Process metrics as the standard Prometheus process collector defines them.
struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;             // soft RLIMIT_NOFILE
  double start_time_seconds = 0;  // since the Unix epoch
};
// Reads /proc/self; fields that cannot be read stay 0 and `ok` is false.
ProcessStats read_process_stats(bool* ok = nullptr);

}  // namespace stoa::obs
