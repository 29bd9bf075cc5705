#include "data/sql/query_telemetry.h"

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

}  // namespace

QueryTelemetry::QueryTelemetry(obs::Telemetry* telemetry, Dialect dialect)
    : telemetry_(telemetry), dialect_(dialect) {}

QueryTelemetry::Scope QueryTelemetry::start(std::string_view name, std::string_view sql,
                                            Target target, const TraceContext* parent) {
  Scope scope;
  scope.owner_ = this;
  scope.name_ = std::string(name);
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

void QueryTelemetry::observe(const std::string& name, Target target, const Error* error,
                             double seconds) {
  if (telemetry_ == nullptr) return;
  const std::string error_type = error == nullptr ? "" : to_string(error->code);
  std::string key = name;
  key.append("|").append(target_name(target)).append("|").append(error_type);
  obs::Histogram histogram;
  {
    std::lock_guard lock(mutex_);
    auto it = histograms_.find(key);
    if (it == histograms_.end()) {
      obs::Labels labels{{"db_system_name", to_string(dialect_)},
                         {"db_query_summary", name},
                         {"stoa_db_target", target_name(target)},
                         {"error_type", error_type}};
      it = histograms_
               .emplace(key, telemetry_->metrics().histogram(
                                 "db_client_operation_duration_seconds",
                                 "Duration of database statements, by query name and target.",
                                 query_buckets(), labels))
               .first;
    }
    histogram = it->second;
  }
  histogram.observe(seconds);
}

}  // namespace stoa::sql
