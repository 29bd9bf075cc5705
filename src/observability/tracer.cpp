#include "observability/tracer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "observability/json_text.h"
#include "observability/log.h"
#include "runtime/backend_url.h"
#include "runtime/config.h"
#include "runtime/http_client.h"
#include "runtime/time_format.h"

namespace stoa::obs {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string_view to_string(SpanKind kind) {
  switch (kind) {
    case SpanKind::internal:
      return "internal";
    case SpanKind::server:
      return "server";
    case SpanKind::client:
      return "client";
    case SpanKind::producer:
      return "producer";
    case SpanKind::consumer:
      return "consumer";
  }
  return "internal";
}

std::string_view to_string(SpanStatus status) {
  switch (status) {
    case SpanStatus::unset:
      return "unset";
    case SpanStatus::ok:
      return "ok";
    case SpanStatus::error:
      return "error";
  }
  return "unset";
}

void SpanRecord::set(std::string key, AttributeValue value) {
  for (auto& [existing, existing_value] : attributes) {
    if (existing == key) {
      existing_value = std::move(value);
      return;
    }
  }
  attributes.emplace_back(std::move(key), std::move(value));
}

const AttributeValue* SpanRecord::attribute(std::string_view key) const {
  for (const auto& [existing, value] : attributes) {
    if (existing == key) return &value;
  }
  return nullptr;
}

TracerOptions TracerOptions::from_config(const Config& config) {
  TracerOptions options;
  options.service_name = config.string("tracing.service_name");
  options.otlp_endpoint = config.string("tracing.otlp");
  if (!options.otlp_endpoint.empty()) {
    const auto url = parse_backend_url(options.otlp_endpoint);
    if (!url || (url->scheme != "http" && url->scheme != "https") || url->hosts.empty()) {
      throw std::invalid_argument("tracing.otlp: expected an http:// or https:// URL, got " +
                                  quote_for_message(redact_url(options.otlp_endpoint), 200));
    }
  }
  options.export_interval = config.duration("tracing.export_interval");
  options.export_timeout = config.duration("tracing.export_timeout");
  const auto positive = [&](std::string_view key) -> std::size_t {
    const std::int64_t value = config.integer(key);
    if (value <= 0) throw std::invalid_argument(std::string(key) + ": must be at least 1");
    return static_cast<std::size_t>(value);
  };
  options.max_queue_spans = positive("tracing.max_queue_spans");
  options.max_batch_spans = positive("tracing.max_batch_spans");
  options.keep_traces = positive("tracing.keep_traces");
  const std::int64_t keep_per_second = config.integer("tracing.keep_per_second");
  if (keep_per_second < 0) throw std::invalid_argument("tracing.keep_per_second: must be >= 0");
  options.keep_per_second = static_cast<std::size_t>(keep_per_second);
  if (options.export_interval.count() <= 0) options.export_interval = milliseconds(1);
  if (options.export_timeout.count() <= 0) options.export_timeout = milliseconds(1);
  return options;
}

namespace {

using SpanPtr = std::shared_ptr<const SpanRecord>;

struct TraceIdHash {
  std::size_t operator()(const TraceId& id) const {
    std::uint64_t a = 0, b = 0;
    std::memcpy(&a, id.bytes.data(), 8);
    std::memcpy(&b, id.bytes.data() + 8, 8);
    return static_cast<std::size_t>(a ^ (b * 0x9E3779B97F4A7C15ull));
  }
};

std::uint64_t unix_nanos(std::chrono::system_clock::time_point time) {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  return ns > 0 ? static_cast<std::uint64_t>(ns) : 0;
}

double millis_between(std::chrono::system_clock::time_point from,
                      std::chrono::system_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

int otlp_kind(SpanKind kind) {
  switch (kind) {
    case SpanKind::internal:
      return 1;
    case SpanKind::server:
      return 2;
    case SpanKind::client:
      return 3;
    case SpanKind::producer:
      return 4;
    case SpanKind::consumer:
      return 5;
  }
  return 0;
}

void append_quoted_number(std::string& out, std::uint64_t value) {
  out.push_back('"');
  json_text::append_number(out, value);
  out.push_back('"');
}

void append_otlp_value(std::string& out, const AttributeValue& value) {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          out.append("{\"stringValue\":");
          json_text::append_string(out, v);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out.append("{\"intValue\":\"");  // int64 is a string in protobuf's JSON mapping
          json_text::append_number(out, v);
          out.push_back('"');
        } else if constexpr (std::is_same_v<T, double>) {
          out.append("{\"doubleValue\":");
          if (std::isnan(v)) {
            out.append("\"NaN\"");
          } else if (std::isinf(v)) {
            out.append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
          } else {
            json_text::append_number(out, v);
          }
        } else {
          out.append("{\"boolValue\":");
          out.append(v ? "true" : "false");
        }
        out.push_back('}');
      },
      value);
}

void append_plain_value(std::string& out, const AttributeValue& value) {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          json_text::append_string(out, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.append(v ? "true" : "false");
        } else {
          json_text::append_number(out, v);
        }
      },
      value);
}

void append_span_json(std::string& out, const SpanRecord& span) {
  out.append("{\"trace_id\":\"");
  out.append(span.trace_id.hex());
  out.append("\",\"span_id\":\"");
  out.append(span.span_id.hex());
  out.append("\",\"parent_span_id\":");
  if (span.parent_span_id.valid()) {
    out.push_back('"');
    out.append(span.parent_span_id.hex());
    out.push_back('"');
  } else {
    out.append("null");
  }
  out.append(",\"name\":");
  json_text::append_string(out, span.name);
  out.append(",\"kind\":\"");
  out.append(to_string(span.kind));
  out.append("\",\"start\":\"");
  append_rfc3339_ms(out, span.start);
  out.append("\",\"end\":\"");
  append_rfc3339_ms(out, span.end);
  out.append("\",\"start_unix_nano\":");
  append_quoted_number(out, unix_nanos(span.start));
  out.append(",\"end_unix_nano\":");
  append_quoted_number(out, unix_nanos(span.end));
  out.append(",\"duration_ms\":");
  json_text::append_number(out, millis_between(span.start, span.end));
  out.append(",\"status\":\"");
  out.append(to_string(span.status));
  out.push_back('"');
  if (!span.status_message.empty()) {
    out.append(",\"status_message\":");
    json_text::append_string(out, span.status_message);
  }
  out.append(",\"attributes\":{");
  bool first = true;
  for (const auto& [key, value] : span.attributes) {
    if (!first) out.push_back(',');
    first = false;
    json_text::append_string(out, key);
    out.push_back(':');
    append_plain_value(out, value);
  }
  out.append("}}");
}

}  // namespace

std::string otlp_json(std::string_view service_name, const std::vector<SpanPtr>& spans) {
  std::string out;
  out.reserve(256 + spans.size() * 512);
  out.append(R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":)");
  out.append(R"({"stringValue":)");
  json_text::append_string(out, service_name);
  out.append(R"(}}]},"scopeSpans":[{"scope":{"name":"stoa")");
#ifdef STOA_VERSION
  out.append(R"(,"version":)");
  json_text::append_string(out, STOA_VERSION);
#endif
  out.append(R"(},"spans":[)");
  bool first_span = true;
  for (const auto& span : spans) {
    if (!first_span) out.push_back(',');
    first_span = false;
    out.append(R"({"traceId":")");
    out.append(span->trace_id.hex());
    out.append(R"(","spanId":")");
    out.append(span->span_id.hex());
    out.push_back('"');
    if (span->parent_span_id.valid()) {
      out.append(R"(,"parentSpanId":")");
      out.append(span->parent_span_id.hex());
      out.push_back('"');
    }
    out.append(R"(,"name":)");
    json_text::append_string(out, span->name);
    out.append(R"(,"kind":)");
    json_text::append_number(out, static_cast<std::int64_t>(otlp_kind(span->kind)));
    out.append(R"(,"startTimeUnixNano":)");
    append_quoted_number(out, unix_nanos(span->start));
    out.append(R"(,"endTimeUnixNano":)");
    append_quoted_number(out, unix_nanos(span->end));
    out.append(R"(,"attributes":[)");
    bool first_attribute = true;
    for (const auto& [key, value] : span->attributes) {
      if (!first_attribute) out.push_back(',');
      first_attribute = false;
      out.append(R"({"key":)");
      json_text::append_string(out, key);
      out.append(R"(,"value":)");
      append_otlp_value(out, value);
      out.push_back('}');
    }
    out.push_back(']');
    if (span->status != SpanStatus::unset) {
      out.append(R"(,"status":{"code":)");
      out.push_back(span->status == SpanStatus::ok ? '1' : '2');
      if (!span->status_message.empty()) {
        out.append(R"(,"message":)");
        json_text::append_string(out, span->status_message);
      }
      out.push_back('}');
    }
    out.push_back('}');
  }
  out.append("]}]}]}");
  return out;
}

// --- Tracer ----------------------------------------------------------------------------------

struct Tracer::Impl {
  TracerOptions options;
  bool export_enabled = false;

  // In-memory traces for /traces: insertion (first seen) order, oldest evicted first.
  struct Trace {
    std::vector<SpanPtr> spans;
  };
  mutable std::mutex ring_mutex;
  std::unordered_map<TraceId, Trace, TraceIdHash> traces;
  std::deque<TraceId> order;

  // Export queue and accounting (all under queue_mutex, so that stats add up).
  mutable std::mutex queue_mutex;
  std::condition_variable queue_changed;  // for flush() and shutdown()
  std::deque<SpanPtr> queue;
  std::size_t in_flight = 0;
  std::uint64_t recorded = 0;
  std::uint64_t exported = 0;
  std::uint64_t dropped = 0;
  bool accepting = true;
  bool exporter_done = false;

  // Exporter thread and its wake-ups.
  std::mutex shutdown_mutex;
  std::thread exporter;
  std::mutex wake_mutex;  // guards context and timer while the exporter runs
  asio::io_context* context = nullptr;
  asio::steady_timer* timer = nullptr;
  std::atomic<bool> wake_pending{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> flush_requested{false};
  std::atomic<std::int64_t> stop_deadline_ns{0};  // steady_clock, set with `stopping`
  bool failing = false;                           // exporter thread only: last batch failed

  void keep(const SpanPtr& span) {
    std::lock_guard lock(ring_mutex);
    auto found = traces.find(span->trace_id);
    if (found == traces.end()) {
      while (traces.size() >= options.keep_traces && !order.empty()) {
        traces.erase(order.front());
        order.pop_front();
      }
      found = traces.emplace(span->trace_id, Trace{}).first;
      order.push_back(span->trace_id);
    }
    if (found->second.spans.size() < options.max_spans_per_trace) {
      found->second.spans.push_back(span);
    }
  }

  void wake() {
    std::lock_guard lock(wake_mutex);
    if (context == nullptr || wake_pending.exchange(true)) return;
    asio::post(*context, [this] {
      wake_pending = false;
      if (timer != nullptr) timer->cancel();
    });
  }

  std::size_t queue_size() const {
    std::lock_guard lock(queue_mutex);
    return queue.size();
  }

  std::vector<SpanPtr> take_batch() {
    std::lock_guard lock(queue_mutex);
    const std::size_t n = std::min(queue.size(), options.max_batch_spans);
    std::vector<SpanPtr> batch(std::make_move_iterator(queue.begin()),
                               std::make_move_iterator(queue.begin() + static_cast<long>(n)));
    queue.erase(queue.begin(), queue.begin() + static_cast<long>(n));
    in_flight = n;
    return batch;
  }

  void finish_batch(std::size_t n, bool ok) {
    {
      std::lock_guard lock(queue_mutex);
      in_flight = 0;
      (ok ? exported : dropped) += n;
    }
    queue_changed.notify_all();
  }

  void drop_queued() {
    {
      std::lock_guard lock(queue_mutex);
      dropped += queue.size() + in_flight;
      queue.clear();
      in_flight = 0;
    }
    queue_changed.notify_all();
  }

  steady_clock::time_point stop_deadline() const {
    return steady_clock::time_point(steady_clock::duration(stop_deadline_ns.load()));
  }

  asio::awaitable<bool> send(http::Client& client, std::string body, milliseconds timeout) {
    http::ClientRequest request;
    request.method = "POST";
    request.url = options.otlp_endpoint;
    request.headers.set("Content-Type", "application/json");
    request.body = std::move(body);
    request.timeout = timeout;  // request.trace stays invalid: exporting is not traced
    std::string problem;
    try {
      auto result = co_await client.send(std::move(request));
      if (!result.ok()) {
        problem = std::string(stoa::to_string(result.error().code)) + ": " + result.error().message;
      } else if (result->status < 200 || result->status >= 300) {
        problem = "collector answered " + std::to_string(result->status);
      }
    } catch (const std::exception& e) {
      problem = e.what();
    }
    if (problem.empty()) {
      if (failing) obs::log(Level::info, "tracing", "OTLP export resumed");
      failing = false;
      co_return true;
    }
    if (!failing) {
      obs::log(Level::warn, "tracing", "OTLP export failed; spans are dropped until it recovers",
               {{"endpoint", options.otlp_endpoint}, {"error", problem}});
    }
    failing = true;
    co_return false;
  }

  asio::awaitable<void> export_loop(http::Client& client, asio::steady_timer& wait_timer) {
    while (true) {
      // Wait for the interval, a full batch (not while the collector is failing), a flush
      // or shutdown.
      const auto wait_until = steady_clock::now() + options.export_interval;
      while (!stopping && !flush_requested) {
        if (!failing && queue_size() >= options.max_batch_spans) break;
        if (steady_clock::now() >= wait_until) break;
        wait_timer.expires_at(wait_until);
        boost::system::error_code ignored;
        co_await wait_timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      }
      const bool stop = stopping;
      flush_requested = false;

      while (true) {
        auto timeout = options.export_timeout;
        if (stop) {
          const auto left =
              std::chrono::duration_cast<milliseconds>(stop_deadline() - steady_clock::now());
          if (left.count() <= 0) break;
          timeout = std::min(timeout, left);
        }
        std::vector<SpanPtr> batch = take_batch();
        if (batch.empty()) break;
        const bool ok = co_await send(client, otlp_json(options.service_name, batch), timeout);
        finish_batch(batch.size(), ok);
        if (!ok) break;  // do not hammer a collector that is down: wait for the next interval
      }
      if (stop) co_return;
    }
  }

  void run_exporter() {
    asio::io_context io(1);
    http::ClientOptions client_options;
    client_options.request_timeout = options.export_timeout;
    client_options.connect_timeout = std::min(options.export_timeout, milliseconds(2'000));
    client_options.max_response_bytes = 64 * 1024;
    client_options.max_idle_per_upstream = 2;
    {
      http::Client client(io, client_options);
      asio::steady_timer wait_timer(io);
      {
        std::lock_guard lock(wake_mutex);
        context = &io;
        timer = &wait_timer;
      }
      asio::co_spawn(io, export_loop(client, wait_timer), [&io](std::exception_ptr error) {
        if (error) {
          try {
            std::rethrow_exception(error);
          } catch (const std::exception& e) {
            obs::log(Level::error, "tracing", "OTLP exporter stopped", {{"error", e.what()}});
          } catch (...) {
          }
        }
        io.stop();
      });
      io.run();
      std::lock_guard lock(wake_mutex);
      context = nullptr;
      timer = nullptr;
    }
    {
      std::lock_guard lock(queue_mutex);
      exporter_done = true;
    }
    queue_changed.notify_all();
  }
};

Tracer::Tracer(TracerOptions options) : impl_(std::make_shared<Impl>()) {
  if (options.keep_traces == 0) options.keep_traces = 1;
  if (options.max_batch_spans == 0) options.max_batch_spans = 1;
  if (options.max_spans_per_trace == 0) options.max_spans_per_trace = 1;
  impl_->options = std::move(options);
  impl_->export_enabled = !impl_->options.otlp_endpoint.empty();
  if (impl_->export_enabled) {
    impl_->exporter = std::thread([impl = impl_.get()] { impl->run_exporter(); });
  }
}

Tracer::~Tracer() {
  shutdown();
}

const TracerOptions& Tracer::options() const {
  return impl_->options;
}

bool Tracer::exporting() const {
  return impl_->export_enabled;
}

void Tracer::record(SpanRecord span) {
  if (!span.trace_id.valid() || !span.span_id.valid()) return;
  auto shared = std::make_shared<const SpanRecord>(std::move(span));
  Impl& impl = *impl_;
  impl.keep(shared);

  bool wake = false;
  {
    std::lock_guard lock(impl.queue_mutex);
    if (!impl.export_enabled || !shared->sampled) return;  // kept in memory only
    ++impl.recorded;
    if (!impl.accepting || impl.queue.size() >= impl.options.max_queue_spans) {
      ++impl.dropped;
    } else {
      impl.queue.push_back(std::move(shared));
      wake = impl.queue.size() == impl.options.max_batch_spans;
    }
  }
  if (wake) impl.wake();
}

bool Tracer::admit(const TraceContext& incoming) {
  if (impl_->export_enabled && (!incoming.valid() || incoming.sampled())) return true;
  // A token bucket per thread: no lock, and each event-loop thread gets its share. It
  // belongs to one tracer; another tracer on the same thread starts a fresh, full bucket.
  struct Bucket {
    const Tracer* owner = nullptr;
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled{};
  };
  thread_local Bucket bucket;
  const double rate = static_cast<double>(impl_->options.keep_per_second);
  if (rate <= 0) return false;
  const auto now = std::chrono::steady_clock::now();
  if (bucket.owner != this) bucket = Bucket{this, rate, now};
  const double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
  bucket.tokens = std::min(rate, bucket.tokens + elapsed * rate);
  bucket.refilled = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

std::string Tracer::traces_json(std::size_t limit) const {
  struct Summary {
    TraceId id;
    std::string name;
    std::chrono::system_clock::time_point start;
    std::chrono::system_clock::time_point end;
    std::size_t count = 0;
  };
  std::vector<Summary> summaries;
  {
    std::lock_guard lock(impl_->ring_mutex);
    summaries.reserve(std::min(limit, impl_->order.size()));
    for (auto it = impl_->order.rbegin(); it != impl_->order.rend() && summaries.size() < limit;
         ++it) {
      const auto& spans = impl_->traces.at(*it).spans;
      Summary summary{*it, {}, {}, {}, spans.size()};
      const SpanRecord* root = nullptr;
      const SpanRecord* earliest = nullptr;
      for (const auto& span : spans) {
        if (!span->parent_span_id.valid() && root == nullptr) root = span.get();
        if (earliest == nullptr || span->start < earliest->start) earliest = span.get();
        summary.end = std::max(summary.end, span->end);
      }
      if (earliest != nullptr) {
        summary.start = earliest->start;
        summary.name = (root != nullptr ? root : earliest)->name;
      }
      summaries.push_back(std::move(summary));
    }
  }
  std::string out = "[";
  for (const auto& summary : summaries) {
    if (out.size() > 1) out.push_back(',');
    out.append("{\"trace_id\":\"");
    out.append(summary.id.hex());
    out.append("\",\"name\":");
    json_text::append_string(out, summary.name);
    out.append(",\"start\":\"");
    append_rfc3339_ms(out, summary.start);
    out.append("\",\"duration_ms\":");
    json_text::append_number(out, millis_between(summary.start, summary.end));
    out.append(",\"span_count\":");
    json_text::append_number(out, static_cast<std::uint64_t>(summary.count));
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

std::vector<SpanRecord> Tracer::trace_spans(const TraceId& trace_id) const {
  std::vector<SpanPtr> spans;
  {
    std::lock_guard lock(impl_->ring_mutex);
    const auto found = impl_->traces.find(trace_id);
    if (found == impl_->traces.end()) return {};
    spans = found->second.spans;
  }
  std::vector<SpanRecord> out;
  out.reserve(spans.size());
  for (const auto& span : spans) out.push_back(*span);
  std::stable_sort(out.begin(), out.end(),
                   [](const SpanRecord& a, const SpanRecord& b) { return a.start < b.start; });
  return out;
}

std::optional<std::string> Tracer::trace_json(std::string_view trace_id) const {
  if (trace_id.size() != 32) return std::nullopt;
  std::string lower(trace_id);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  const auto id = TraceId::from_hex(lower);
  if (!id || !id->valid()) return std::nullopt;
  const std::vector<SpanRecord> spans = trace_spans(*id);
  if (spans.empty()) return std::nullopt;
  std::string out = "{\"trace_id\":\"";
  out.append(id->hex());
  out.append("\",\"spans\":[");
  bool first = true;
  for (const auto& span : spans) {
    if (!first) out.push_back(',');
    first = false;
    append_span_json(out, span);
  }
  out.append("]}");
  return out;
}

bool Tracer::flush(milliseconds timeout) {
  Impl& impl = *impl_;
  if (!impl.export_enabled) return true;
  impl.flush_requested = true;
  impl.wake();
  std::unique_lock lock(impl.queue_mutex);
  return impl.queue_changed.wait_for(
             lock, timeout,
             [&] { return (impl.queue.empty() && impl.in_flight == 0) || impl.exporter_done; }) &&
         impl.queue.empty() && impl.in_flight == 0;
}

void Tracer::shutdown(milliseconds deadline) {
  Impl& impl = *impl_;
  std::lock_guard shutdown_lock(impl.shutdown_mutex);
  if (!impl.exporter.joinable()) return;
  const auto until = steady_clock::now() + deadline;
  impl.stop_deadline_ns = until.time_since_epoch().count();
  impl.stopping = true;
  impl.wake();
  {
    std::unique_lock lock(impl.queue_mutex);
    const bool done = impl.queue_changed.wait_until(lock, until + std::chrono::seconds(1),
                                                    [&] { return impl.exporter_done; });
    if (!done) {
      // A send that ignores its timeout: stop the exporter's loop where it is.
      lock.unlock();
      std::lock_guard wake_lock(impl.wake_mutex);
      if (impl.context != nullptr) impl.context->stop();
    }
  }
  impl.exporter.join();
  {
    std::lock_guard lock(impl.queue_mutex);
    impl.accepting = false;
  }
  impl.drop_queued();
}

TracerStats Tracer::stats() const {
  std::lock_guard lock(impl_->queue_mutex);
  TracerStats stats;
  stats.recorded = impl_->recorded;
  stats.exported = impl_->exported;
  stats.dropped = impl_->dropped;
  stats.queued = impl_->queue.size() + impl_->in_flight;
  return stats;
}

// --- Span ------------------------------------------------------------------------------------

Span::Span(Tracer& tracer, const TraceContext& parent, std::string name, SpanKind kind)
    : tracer_(&tracer), context_(TraceContext::child_of(parent)) {
  record_.trace_id = context_.trace_id;
  record_.span_id = context_.span_id;
  record_.parent_span_id = parent.valid() ? parent.span_id : SpanId{};
  record_.sampled = context_.sampled();
  record_.name = std::move(name);
  record_.kind = kind;
  record_.start = std::chrono::system_clock::now();
}

Span::Span(Span&& other) noexcept
    : tracer_(other.tracer_),
      context_(std::move(other.context_)),
      record_(std::move(other.record_)),
      ended_(other.ended_) {
  other.ended_ = true;
}

Span::~Span() {
  end();
}

void Span::set_attribute(std::string key, AttributeValue value) {
  record_.set(std::move(key), std::move(value));
}

void Span::set_error(std::string message) {
  record_.status = SpanStatus::error;
  record_.status_message = std::move(message);
}

void Span::set_ok() {
  record_.status = SpanStatus::ok;
  record_.status_message.clear();
}

void Span::end() {
  if (ended_) return;
  ended_ = true;
  if (!context_.recording) return;
  record_.end = std::chrono::system_clock::now();
  tracer_->record(std::move(record_));
}

}  // namespace stoa::obs
