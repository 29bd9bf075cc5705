#pragma once
// The admin listener's routes (admin.listen, default 127.0.0.1:9464):
//   GET /healthz            200 {"status":"ok"}: the process is up
//   GET /readyz             200 {"status":"ready","checks":{...}} when every readiness check
//                           passes, else 503 problem+json naming the failing checks
//   GET /metrics            Prometheus text exposition (format 0.0.4)
//   GET /traces             recent traces, newest first (JSON array)
//   GET /traces/{trace_id}  one trace's spans, or 404
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/async.h"
#include "runtime/error.h"

namespace stoa::http {
class Router;
}

namespace stoa::obs {

class Telemetry;

// Named checks that /readyz runs: each reports whether a dependency (database, broker...)
// can serve. Thread-safe.
class ReadinessChecks {
 public:
  using Check = std::function<Awaitable<Status>()>;

  // A second check of the same name replaces the first.
  void add(std::string name, Check check);
  bool remove(const std::string& name);
  std::vector<std::pair<std::string, Check>> snapshot() const;
  std::size_t size() const;

  struct Outcome {
    std::string name;
    bool ok = false;
    std::string error;  // "timeout: …", "unavailable: …"; empty when ok
  };
  // Runs every check concurrently on the caller's executor, each bounded by `timeout`
  // (a check that throws or takes longer fails). In registration order.
  Awaitable<std::vector<Outcome>> run(std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Check>> checks_;
};

struct AdminOptions {
  std::chrono::milliseconds readiness_timeout{2'000};  // per check
  std::size_t max_traces_listed = 100;
};

// `telemetry` and `checks` must outlive the router.
std::shared_ptr<http::Router> make_admin_router(Telemetry& telemetry, ReadinessChecks& checks,
                                                AdminOptions options = {});

}  // namespace stoa::obs
