#pragma once
// What every driver records per statement: the duration histogram
// db_client_operation_duration_seconds{db_system_name, db_query_summary, stoa_db_target,
// error_type} (OpenTelemetry's database conventions; db_query_summary is the Query's name,
// so cardinality stays bounded) and, under a recording caller's span, a CLIENT span.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "data/sql/sql.h"
#include "observability/metrics.h"
#include "observability/tracer.h"

namespace stoa::sql {

class QueryTelemetry {
 public:
  // `telemetry` may be nullptr: then nothing is recorded.
  QueryTelemetry(obs::Telemetry* telemetry, Dialect dialect);

  // One statement (or transaction step) in progress.
  class Scope {
   public:
    Scope(Scope&& other) noexcept;
    Scope& operator=(Scope&&) = delete;
    // Records the outcome: `error` nullptr for success; `rows` returned or affected.
    void finish(const Error* error, std::uint64_t rows);
    ~Scope();

   private:
    friend class QueryTelemetry;
    Scope() = default;
    QueryTelemetry* owner_ = nullptr;
    std::string_view name_;  // outlives the scope: see start()
    Target target_ = Target::primary;
    std::chrono::steady_clock::time_point start_;
    std::optional<obs::Span> span_;
    bool finished_ = false;
  };

  // `name` and `sql` are the Query's (constants of the program: the SQL text holds no values).
  // `name` must outlive the Scope (a Query's name is a constant; a caller's own string is
  // declared before the Scope): it is kept as a view, no copy per statement.
  Scope start(std::string_view name, std::string_view sql, Target target,
              const TraceContext* parent);

 private:
  void observe(std::string_view name, Target target, const Error* error, double seconds);
  obs::Histogram series(std::string_view name, Target target, const Error* error);

  obs::Telemetry* telemetry_;
  Dialect dialect_;
  // Tells this object's series apart in the per-thread cache of histogram handles (an address
  // could be reused by a later QueryTelemetry; an id is never).
  std::uint64_t id_;
};

}  // namespace stoa::sql
