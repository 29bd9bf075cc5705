#pragma once
// Spans: recorded once finished, kept in memory for the admin /traces endpoints, and, when
// tracing.otlp is set, exported in batches as OTLP/HTTP JSON by a background thread.
//
// record() never blocks on I/O: the export queue is bounded (tracing.max_queue_spans) and a
// span beyond it is dropped and counted, as is every span of a batch the collector did not
// take in time (tracing.export_timeout). Export resumes when the collector is back.
//
// To trace a unit of work, use obs::Span:
//   obs::Span span(tracer, request.trace, "SELECT orders", obs::SpanKind::client);
//   span.set_attribute("db.system", "postgresql");
//   client_request.trace = span.context();   // propagate to a callee
//   ...; if (failed) span.set_error("timeout");
//   // recorded when `span` is destroyed (or span.end())
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/trace_context.h"

namespace stoa {
class Config;
}

namespace stoa::obs {

enum class SpanKind { internal, server, client, producer, consumer };
enum class SpanStatus { unset, ok, error };

std::string_view to_string(SpanKind kind);
std::string_view to_string(SpanStatus status);

// Integers are int64: cast unsigned values (a size_t does not convert implicitly).
using AttributeValue = std::variant<std::string, std::int64_t, double, bool>;

struct SpanRecord {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // invalid for a root span
  std::string name;
  SpanKind kind = SpanKind::internal;
  std::chrono::system_clock::time_point start{};
  std::chrono::system_clock::time_point end{};
  SpanStatus status = SpanStatus::unset;
  std::string status_message;  // for errors; never secrets
  bool sampled = true;         // unsampled spans are kept in memory but not exported
  std::vector<std::pair<std::string, AttributeValue>> attributes;

  void set(std::string key, AttributeValue value);  // replaces an attribute of that key
  const AttributeValue* attribute(std::string_view key) const;
};

struct TracerOptions {
  std::string service_name = "stoa";
  std::string otlp_endpoint;  // "" = no export
  std::chrono::milliseconds export_interval{2'000};
  std::chrono::milliseconds export_timeout{5'000};
  std::size_t max_queue_spans = 8192;
  std::size_t max_batch_spans = 512;
  std::size_t keep_traces = 512;          // traces kept in memory for /traces
  std::size_t max_spans_per_trace = 256;  // spans kept in memory per trace (export is not capped)
  // New traces recorded per second per thread for the in-memory buffer alone. A busy server
  // turns a 512-trace buffer over in milliseconds, so recording every request would cost
  // throughput and show nothing more; sampled traces are all recorded while exporting.
  std::size_t keep_per_second = 50;

  // From [tracing].
  static TracerOptions from_config(const Config& config);
};

struct TracerStats {
  std::uint64_t recorded = 0;  // sampled spans offered for export
  std::uint64_t exported = 0;  // spans the collector accepted
  std::uint64_t dropped = 0;   // spans lost: queue full, or their batch failed
  std::uint64_t queued = 0;    // waiting for export, including the batch being sent
  // With export on: recorded == exported + dropped + queued at every snapshot.
};

class Tracer {
 public:
  // Starts the exporter thread when options.otlp_endpoint is set.
  explicit Tracer(TracerOptions options);
  // shutdown()
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  const TracerOptions& options() const;
  bool exporting() const;

  // Thread-safe and cheap: a short critical section, never I/O.
  void record(SpanRecord span);

  // Where a trace enters the process: whether to record its spans (sets nothing). True for a
  // sampled trace while exporting, otherwise while this thread's keep_per_second allows.
  bool admit(const TraceContext& incoming);

  // Recent traces, newest first: [{"trace_id","name","start","duration_ms","span_count"}]
  // (name: the root span's, or the earliest span's while the root has not ended).
  std::string traces_json(std::size_t limit = 100) const;
  // {"trace_id":…, "spans":[{trace_id, span_id, parent_span_id, name, kind, start, end,
  // start_unix_nano, end_unix_nano, duration_ms, status, status_message, attributes{}}]}
  // ordered by start; nullopt when the trace is not (or no longer) kept. Accepts 32 hex
  // digits in either case.
  std::optional<std::string> trace_json(std::string_view trace_id) const;
  // The kept spans of a trace (for tests and tools).
  std::vector<SpanRecord> trace_spans(const TraceId& trace_id) const;

  // Asks the exporter to send what is queued now and waits until the queue is empty or
  // `timeout` passed. Returns whether it emptied. Without export: true at once.
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Exports what it can within `deadline`, then stops the exporter; what is left is
  // counted as dropped. Spans recorded afterwards are kept in memory only. Idempotent.
  void shutdown(std::chrono::milliseconds deadline = std::chrono::seconds(2));

  TracerStats stats() const;
  std::uint64_t spans_dropped() const { return stats().dropped; }
  std::uint64_t spans_exported() const { return stats().exported; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// OTLP/HTTP JSON body (ExportTraceServiceRequest) for `spans`.
std::string otlp_json(std::string_view service_name,
                      const std::vector<std::shared_ptr<const SpanRecord>>& spans);

// A span in progress: a child context of `parent` (a new trace when parent is invalid),
// recorded into `tracer` on end() or destruction. Not thread-safe; movable.
class Span {
 public:
  Span(Tracer& tracer, const TraceContext& parent, std::string name,
       SpanKind kind = SpanKind::internal);
  ~Span();
  Span(Span&& other) noexcept;
  Span& operator=(Span&&) = delete;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

  // This span's context: pass it to callees (ClientRequest::trace, log lines, child spans).
  const TraceContext& context() const { return context_; }
  void set_attribute(std::string key, AttributeValue value);
  void set_error(std::string message);
  void set_ok();
  void end();  // records the span now; later calls do nothing

 private:
  Tracer* tracer_;
  TraceContext context_;
  SpanRecord record_;
  bool ended_ = false;
};

}  // namespace stoa::obs
