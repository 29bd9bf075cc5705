#include "observability/admin.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "observability/telemetry.h"
#include "runtime/problem.h"
#include "runtime/router.h"

namespace stoa::obs {

namespace asio = boost::asio;

void ReadinessChecks::add(std::string name, Check check) {
  std::lock_guard lock(mutex_);
  for (auto& [existing, existing_check] : checks_) {
    if (existing == name) {
      existing_check = std::move(check);
      return;
    }
  }
  checks_.emplace_back(std::move(name), std::move(check));
}

bool ReadinessChecks::remove(const std::string& name) {
  std::lock_guard lock(mutex_);
  for (auto it = checks_.begin(); it != checks_.end(); ++it) {
    if (it->first == name) {
      checks_.erase(it);
      return true;
    }
  }
  return false;
}

std::vector<std::pair<std::string, ReadinessChecks::Check>> ReadinessChecks::snapshot() const {
  std::lock_guard lock(mutex_);
  return checks_;
}

std::size_t ReadinessChecks::size() const {
  std::lock_guard lock(mutex_);
  return checks_.size();
}

namespace {

struct CheckResult {
  bool ok = false;
  std::string error;
};

Awaitable<CheckResult> run_check(ReadinessChecks::Check check, std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  CheckResult outcome;
  try {
    if (!check) throw std::runtime_error("no check function");
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    // Exceptions become results here: `||` waits for the first *successful* branch.
    auto attempt = [](ReadinessChecks::Check run) -> Awaitable<CheckResult> {
      try {
        const Status status = co_await run();
        if (status.ok()) co_return CheckResult{true, {}};
        co_return CheckResult{
            false, std::string(to_string(status.error().code)) + ": " + status.error().message};
      } catch (const std::exception& e) {
        co_return CheckResult{false, std::string("internal: ") + e.what()};
      }
    };
    auto first = co_await (attempt(std::move(check)) || timer.async_wait(asio::use_awaitable));
    if (first.index() == 0) {
      outcome = std::move(std::get<0>(first));
    } else {
      outcome.error = "timeout: no answer within " + std::to_string(timeout.count()) + "ms";
    }
  } catch (const std::exception& e) {
    outcome.error = std::string("internal: ") + e.what();
  }
  co_return outcome;
}

http::Response with_no_store(http::Response response) {
  response.headers.set("Cache-Control", "no-store");
  return response;
}

}  // namespace

Awaitable<std::vector<ReadinessChecks::Outcome>> ReadinessChecks::run(
    std::chrono::milliseconds timeout) const {
  auto checks = snapshot();
  std::vector<Outcome> outcomes;
  if (checks.empty()) co_return outcomes;
  auto executor = co_await asio::this_coro::executor;
  using Operation = decltype(asio::co_spawn(executor, run_check({}, timeout), asio::deferred));
  std::vector<Operation> operations;
  operations.reserve(checks.size());
  for (auto& [name, check] : checks) {
    operations.push_back(asio::co_spawn(executor, run_check(check, timeout), asio::deferred));
  }
  auto [order, exceptions, results] =
      co_await asio::experimental::make_parallel_group(std::move(operations))
          .async_wait(asio::experimental::wait_for_all(), asio::deferred);
  (void)order;
  outcomes.reserve(checks.size());
  for (std::size_t i = 0; i < checks.size(); ++i) {
    Outcome outcome{checks[i].first, results[i].ok, std::move(results[i].error)};
    if (exceptions[i]) {
      outcome.ok = false;
      if (outcome.error.empty()) outcome.error = "internal: the check failed";
    }
    outcomes.push_back(std::move(outcome));
  }
  co_return outcomes;
}

std::shared_ptr<http::Router> make_admin_router(Telemetry& telemetry, ReadinessChecks& checks,
                                                AdminOptions options) {
  auto router = std::make_shared<http::Router>();

  router->add("GET", "/healthz", [](http::Request&) -> Awaitable<http::Response> {
    co_return with_no_store(http::Response::json(200, R"({"status":"ok"})"));
  });

  router->add("GET", "/readyz",
              [&checks, options](http::Request& request) -> Awaitable<http::Response> {
                const auto outcomes = co_await checks.run(options.readiness_timeout);
                boost::json::object results;
                std::string failing;
                for (const auto& outcome : outcomes) {
                  results[outcome.name] = outcome.ok ? std::string("ok") : outcome.error;
                  if (!outcome.ok) {
                    if (!failing.empty()) failing.append(", ");
                    failing.append(outcome.name);
                  }
                }
                if (failing.empty()) {
                  boost::json::object body;
                  body["status"] = "ready";
                  body["checks"] = std::move(results);
                  co_return with_no_store(http::Response::json(200, boost::json::serialize(body)));
                }
                http::Problem problem;
                problem.status = 503;
                problem.title = "Not Ready";
                problem.detail = "failing readiness checks: " + failing;
                problem.instance = request.path;
                http::Response response = http::problem_response(problem);
                // RFC 9457 extension member: each check's outcome.
                boost::system::error_code ec;
                boost::json::value document = boost::json::parse(response.body, ec);
                if (!ec && document.is_object()) {
                  document.as_object()["checks"] = std::move(results);
                  response.body = boost::json::serialize(document);
                }
                co_return with_no_store(std::move(response));
              });

  router->add("GET", "/metrics", [&telemetry](http::Request&) -> Awaitable<http::Response> {
    http::Response response;
    response.status = 200;
    response.headers.set("Content-Type", std::string(Metrics::content_type));
    response.body = telemetry.metrics().expose();
    co_return with_no_store(std::move(response));
  });

  router->add("GET", "/traces", [&telemetry, options](http::Request&) -> Awaitable<http::Response> {
    co_return with_no_store(
        http::Response::json(200, telemetry.tracer().traces_json(options.max_traces_listed)));
  });

  router->add("GET", "/traces/{trace_id}",
              [&telemetry](http::Request& request) -> Awaitable<http::Response> {
                const std::string_view id = request.param("trace_id").value_or("");
                const bool well_formed =
                    id.size() == 32 &&
                    id.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
                if (!well_formed) {
                  co_return with_no_store(http::problem_response(
                      400, "a trace id is 32 hexadecimal digits", request.path));
                }
                auto trace = telemetry.tracer().trace_json(id);
                if (!trace) {
                  co_return with_no_store(http::problem_response(
                      404, "no such trace is kept (it may have been evicted)", request.path));
                }
                co_return with_no_store(http::Response::json(200, std::move(*trace)));
              });

  return router;
}

}  // namespace stoa::obs
