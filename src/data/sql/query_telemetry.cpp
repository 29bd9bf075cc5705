#include "data/sql/query_telemetry.h"

#include <atomic>
#include <functional>
#include <unordered_map>
#include <utility>

#include "observability/telemetry.h"
#include "runtime/trace_context.h"

namespace stoa::sql {

namespace {

const std::vector<double>& query_buckets() {
  // From 100 µs: a point select on a local server takes a few hundred microseconds.
  static const std::vector<double> buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                           1,      2.5,     5,      10};
  return buckets;
}

const char* target_name(Target target) {
  return target == Target::primary ? "primary" : "replica";
}

// One histogram series per (QueryTelemetry, query name, target, error type). Every statement
// observes one, so its handle is cached per thread: no lock, no allocation on the hot path.
struct SeriesKey {
  std::uint64_t owner;
  int target;
  int error;  // -1: none
  std::string name;
};

struct SeriesView {
  std::uint64_t owner;
  int target;
  int error;
  std::string_view name;
};

struct SeriesHash {
  using is_transparent = void;
  std::size_t operator()(const SeriesView& key) const {
    std::size_t h = std::hash<std::string_view>{}(key.name);
    h ^= std::hash<std::uint64_t>{}(key.owner * 1000003u +
                                    static_cast<std::uint64_t>(key.target) * 101u +
                                    static_cast<std::uint64_t>(key.error + 1)) +
         0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
  }
  std::size_t operator()(const SeriesKey& key) const {
    return (*this)(SeriesView{key.owner, key.target, key.error, key.name});
  }
};

struct SeriesEqual {
  using is_transparent = void;
  static SeriesView view(const SeriesKey& key) {
    return SeriesView{key.owner, key.target, key.error, key.name};
  }
  static const SeriesView& view(const SeriesView& key) { return key; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    const SeriesView x = view(a);
    const SeriesView y = view(b);
    return x.owner == y.owner && x.target == y.target && x.error == y.error && x.name == y.name;
  }
};

std::atomic<std::uint64_t> next_id{1};

}  // namespace

QueryTelemetry::QueryTelemetry(obs::Telemetry* telemetry, Dialect dialect)
    : telemetry_(telemetry), dialect_(dialect), id_(next_id.fetch_add(1)) {}

QueryTelemetry::Scope QueryTelemetry::start(std::string_view name, std::string_view sql,
                                            Target target, const TraceContext* parent) {
  Scope scope;
  scope.owner_ = this;
  scope.name_ = name;
  scope.target_ = target;
  scope.start_ = std::chrono::steady_clock::now();
  if (telemetry_ != nullptr && parent != nullptr && parent->valid() && parent->recording) {
    scope.span_.emplace(telemetry_->tracer(), *parent, std::string(name), obs::SpanKind::client);
    scope.span_->set_attribute("db.system.name", std::string(to_string(dialect_)));
    scope.span_->set_attribute("db.query.summary", std::string(name));
    scope.span_->set_attribute("db.query.text", std::string(sql));
    scope.span_->set_attribute("stoa.db.target", std::string(target_name(target)));
  }
  return scope;
}

void QueryTelemetry::Scope::finish(const Error* error, std::uint64_t rows) {
  if (finished_ || owner_ == nullptr) return;
  finished_ = true;
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
  owner_->observe(name_, target_, error, elapsed.count());
  if (span_) {
    if (error != nullptr) {
      span_->set_attribute("error.type", std::string(to_string(error->code)));
      span_->set_error(error->message);
    } else {
      span_->set_attribute("db.response.returned_rows", static_cast<std::int64_t>(rows));
    }
    span_->end();
  }
}

QueryTelemetry::Scope::Scope(Scope&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      name_(std::move(other.name_)),
      target_(other.target_),
      start_(other.start_),
      span_(std::move(other.span_)),
      finished_(other.finished_) {
  other.span_.reset();
}

QueryTelemetry::Scope::~Scope() {
  // A statement abandoned without an outcome (its coroutine was destroyed) was cancelled.
  if (owner_ != nullptr && !finished_) {
    const Error cancelled{Errc::cancelled, "abandoned"};
    finish(&cancelled, 0);
  }
}

obs::Histogram QueryTelemetry::series(std::string_view name, Target target, const Error* error) {
  thread_local std::unordered_map<SeriesKey, obs::Histogram, SeriesHash, SeriesEqual> cache;
  const SeriesView key{id_, static_cast<int>(target),
                       error == nullptr ? -1 : static_cast<int>(error->code), name};
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  const std::string error_type = error == nullptr ? "" : to_string(error->code);
  obs::Labels labels{{"db_system_name", to_string(dialect_)},
                     {"db_query_summary", std::string(name)},
                     {"stoa_db_target", target_name(target)},
                     {"error_type", error_type}};
  // Metrics::histogram is thread-safe and returns the same series for the same labels.
  obs::Histogram histogram = telemetry_->metrics().histogram(
      "db_client_operation_duration_seconds",
      "Duration of database statements, by query name and target.", query_buckets(), labels);
  cache.emplace(SeriesKey{key.owner, key.target, key.error, std::string(name)}, histogram);
  return histogram;
}

void QueryTelemetry::observe(std::string_view name, Target target, const Error* error,
                             double seconds) {
  if (telemetry_ == nullptr) return;
  series(name, target, error).observe(seconds);
}

}  // namespace stoa::sql
