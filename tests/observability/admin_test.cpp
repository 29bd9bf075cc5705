// The admin routes (health, readiness, metrics, traces) and the Telemetry that owns it all.
#include "observability/admin.h"

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>

#include "observability/obs_test_support.h"
#include "observability/telemetry.h"
#include "runtime/config.h"
#include "runtime/router.h"
#include "support/run_sync.h"

namespace stoa::obs {
namespace {

using namespace std::chrono_literals;
using test::parse_object;
using test::str;

http::Response call(const http::Router& router, const std::string& method,
                    const std::string& path) {
  const auto match = router.match(method, path);
  if (match.outcome != http::Router::Outcome::found) {
    ADD_FAILURE() << method << " " << path << " is not routed";
    return http::Response::text(404, "");
  }
  auto request = std::make_shared<http::Request>();
  request->method = method;
  request->path = path;
  request->target = path;
  request->params = match.params;
  request->route = match.route->path_template;
  const http::Handler handler = match.route->handler;
  auto answer = ::stoa::test::run_sync(
      [handler, request]() -> Awaitable<Result<http::Response>> { return handler(*request); }, 10s);
  return std::move(answer).value();  // the admin routes answer with a Response, never an Error
}

std::string header(const http::Response& response, std::string_view name) {
  return std::string(response.headers.get(name).value_or(""));
}

Awaitable<Status> passing() {
  co_return Ok{};
}
Awaitable<Status> failing() {
  co_return Error{Errc::unavailable, "connection refused by 127.0.0.1:5432"};
}
Awaitable<Status> hanging() {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 30s);
  co_await timer.async_wait(boost::asio::use_awaitable);
  co_return Ok{};
}
Awaitable<Status> throwing() {
  throw std::runtime_error("boom");
  co_return Ok{};
}

class AdminTest : public ::testing::Test {
 protected:
  Telemetry telemetry_{TracerOptions{}, false};
  ReadinessChecks checks_;
};

TEST_F(AdminTest, HealthzIsAlwaysOk) {
  const auto router = make_admin_router(telemetry_, checks_);
  const auto response = call(*router, "GET", "/healthz");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(header(response, "Content-Type"), "application/json");
  EXPECT_EQ(str(parse_object(response.body).at("status")), "ok");
}

TEST_F(AdminTest, ReadyzWithoutChecksIsReady) {
  const auto router = make_admin_router(telemetry_, checks_);
  const auto response = call(*router, "GET", "/readyz");
  EXPECT_EQ(response.status, 200);
  const auto body = parse_object(response.body);
  EXPECT_EQ(str(body.at("status")), "ready");
  EXPECT_TRUE(body.at("checks").as_object().empty());
}

TEST_F(AdminTest, ReadyzRunsEveryCheck) {
  checks_.add("database", passing);
  checks_.add("cache", passing);
  const auto router = make_admin_router(telemetry_, checks_);
  auto response = call(*router, "GET", "/readyz");
  EXPECT_EQ(response.status, 200) << response.body;
  auto body = parse_object(response.body);
  EXPECT_EQ(str(body.at("checks").at("database")), "ok");
  EXPECT_EQ(str(body.at("checks").at("cache")), "ok");

  checks_.add("broker", failing);
  response = call(*router, "GET", "/readyz");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(header(response, "Content-Type"), "application/problem+json");
  body = parse_object(response.body);
  EXPECT_EQ(body.at("status").as_int64(), 503);
  EXPECT_NE(str(body.at("detail")).find("broker"), std::string::npos);
  EXPECT_EQ(str(body.at("detail")).find("database"), std::string::npos);
  EXPECT_EQ(str(body.at("checks").at("database")), "ok");
  EXPECT_EQ(str(body.at("checks").at("broker")),
            "unavailable: connection refused by 127.0.0.1:5432");

  EXPECT_TRUE(checks_.remove("broker"));
  EXPECT_EQ(call(*router, "GET", "/readyz").status, 200);
}

TEST_F(AdminTest, ReadyzBoundsSlowChecksAndSurvivesThrowingOnes) {
  checks_.add("slow", hanging);
  checks_.add("throws", throwing);
  checks_.add("fine", passing);
  AdminOptions options;
  options.readiness_timeout = 100ms;
  const auto router = make_admin_router(telemetry_, checks_, options);
  const auto start = std::chrono::steady_clock::now();
  const auto response = call(*router, "GET", "/readyz");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s)
      << "checks must run concurrently, bounded";
  EXPECT_EQ(response.status, 503);
  const auto body = parse_object(response.body);
  EXPECT_EQ(str(body.at("checks").at("slow")).rfind("timeout", 0), 0u) << response.body;
  EXPECT_NE(str(body.at("checks").at("throws")).find("boom"), std::string::npos) << response.body;
  EXPECT_EQ(str(body.at("checks").at("fine")), "ok");
}

TEST_F(AdminTest, MetricsServesTheExposition) {
  telemetry_.metrics().observe_http_request("gateway", "GET", "/", 200, 0.01);
  const auto router = make_admin_router(telemetry_, checks_);
  const auto response = call(*router, "GET", "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(header(response, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(response.body.find("http_server_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(response.body.find("stoa_log_lines_dropped_total"), std::string::npos);
  EXPECT_NE(response.body.find("stoa_tracing_spans_dropped_total"), std::string::npos);
  EXPECT_NE(response.body.find("stoa_tracing_spans_exported_total"), std::string::npos);
  EXPECT_NE(response.body.find("process_start_time_seconds"), std::string::npos);
}

TEST_F(AdminTest, TracesListAndLookup) {
  http::ServerObserver& observer = telemetry_.observer_for("user");
  http::Request request;
  request.method = "GET";
  request.path = "/v1/users/1";
  request.route = "/v1/users/{id}";
  observer.request_started(request);
  observer.request_finished(request, http::Response::text(200, "ok"), 1ms);

  const auto router = make_admin_router(telemetry_, checks_);
  auto response = call(*router, "GET", "/traces");
  EXPECT_EQ(response.status, 200);
  const auto list = test::parse_json(response.body).as_array();
  ASSERT_EQ(list.size(), 1u);
  const std::string id = str(list[0].at("trace_id"));
  EXPECT_EQ(id, request.trace.trace_id.hex());
  EXPECT_EQ(str(list[0].at("name")), "GET /v1/users/{id}");

  response = call(*router, "GET", "/traces/" + id);
  EXPECT_EQ(response.status, 200);
  const auto trace = parse_object(response.body);
  EXPECT_EQ(str(trace.at("spans").at(0).at("span_id")), request.trace.span_id.hex());

  response = call(*router, "GET", "/traces/" + TraceId::random().hex());
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(header(response, "Content-Type"), "application/problem+json");
  response = call(*router, "GET", "/traces/xyz");
  EXPECT_EQ(response.status, 400);
}

TEST(TelemetryTest, BuiltFromConfigHandsOutStableObservers) {
  auto config =
      Config::load("", [](std::string_view) -> std::optional<std::string> { return std::nullopt; });
  ASSERT_TRUE(config.ok()) << config.error().message;
  Telemetry telemetry(*config);
  EXPECT_FALSE(telemetry.tracer().exporting());
  EXPECT_EQ(telemetry.tracer().options().keep_traces, 512u);
  EXPECT_EQ(telemetry.tracer().options().service_name, "stoa");
  http::ServerObserver& gateway = telemetry.observer_for("gateway");
  http::ServerObserver& user = telemetry.observer_for("user");
  EXPECT_EQ(&gateway, &telemetry.observer_for("gateway"));
  EXPECT_NE(&gateway, &user);
  telemetry.shutdown();
  telemetry.shutdown();
}

TEST(TelemetryTest, RejectsAnOtlpEndpointThatIsNotHttp) {
  auto config = Config::load("", [](std::string_view name) -> std::optional<std::string> {
    if (name == "STOA_TRACING_OTLP") return "udp://127.0.0.1:4318";
    return std::nullopt;
  });
  ASSERT_TRUE(config.ok()) << config.error().message;
  try {
    Telemetry telemetry(*config);
    FAIL() << "accepted a bad tracing.otlp";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("tracing.otlp"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stoa::obs
