// HttpTelemetry: trace context in, SERVER span, metrics and access log out.
#include "observability/http_telemetry.h"

#include <gtest/gtest.h>

#include <string>

#include "observability/log.h"
#include "observability/metrics.h"
#include "observability/obs_test_support.h"
#include "observability/tracer.h"

namespace stoa::obs {
namespace {

using namespace std::chrono_literals;
using test::parse_object;
using test::str;

constexpr std::string_view kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kParentSpan = "00f067aa0ba902b7";

class HttpTelemetryTest : public ::testing::Test {
 protected:
  HttpTelemetryTest() : logger_(options()), telemetry_("user", metrics_, tracer_, true, &logger_) {}

  LoggerOptions options() {
    LoggerOptions o;
    o.level = Level::debug;
    o.fd = file_.open_for_append();
    o.close_fd = true;
    return o;
  }

  std::vector<boost::json::object> log_lines() {
    EXPECT_TRUE(logger_.flush());
    std::vector<boost::json::object> out;
    for (const auto& line : file_.lines()) out.push_back(parse_object(line));
    return out;
  }

  static http::Request request(std::string method, std::string path, std::string route) {
    http::Request r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.route = std::move(route);
    r.target = r.path;
    r.request_id = "req-1";
    r.remote_address = "127.0.0.1:50000";
    return r;
  }

  test::TempFile file_;
  Metrics metrics_;
  Tracer tracer_{TracerOptions{}};
  Logger logger_;
  HttpTelemetry telemetry_;
};

TEST_F(HttpTelemetryTest, ContinuesAnIncomingTraceparentAndRecordsTheServerSpan) {
  http::Request req = request("GET", "/v1/users/42", "/v1/users/{id}");
  req.query = "access_token=s3cret";
  req.target = "/v1/users/42?access_token=s3cret";
  req.headers.add("traceparent",
                  "00-" + std::string(kTraceId) + "-" + std::string(kParentSpan) + "-01");
  req.headers.add("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  req.body = "12345";

  telemetry_.request_started(req);
  EXPECT_EQ(req.trace.trace_id.hex(), kTraceId);
  EXPECT_EQ(req.trace.parent_span_id.hex(), kParentSpan);
  EXPECT_TRUE(req.trace.span_id.valid());
  EXPECT_NE(req.trace.span_id.hex(), kParentSpan);
  EXPECT_TRUE(req.trace.sampled());
  EXPECT_EQ(req.trace.tracestate, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");

  http::Response response = http::Response::json(200, R"({"id":42})");
  telemetry_.request_finished(req, response, 5ms);

  // The span is visible by trace id.
  const auto json = tracer_.trace_json(kTraceId);
  ASSERT_TRUE(json.has_value());
  const auto spans = tracer_.trace_spans(*TraceId::from_hex(kTraceId));
  ASSERT_EQ(spans.size(), 1u);
  const SpanRecord& span = spans[0];
  EXPECT_EQ(span.name, "GET /v1/users/{id}");
  EXPECT_EQ(span.kind, SpanKind::server);
  EXPECT_EQ(span.span_id, req.trace.span_id);
  EXPECT_EQ(span.parent_span_id.hex(), kParentSpan);
  EXPECT_EQ(span.status, SpanStatus::unset);
  EXPECT_EQ(span.end - span.start,
            std::chrono::duration_cast<std::chrono::system_clock::duration>(5ms));
  const auto attribute = [&](std::string_view key) -> AttributeValue {
    const AttributeValue* value = span.attribute(key);
    EXPECT_NE(value, nullptr) << key;
    return value != nullptr ? *value : AttributeValue{};
  };
  EXPECT_EQ(std::get<std::string>(attribute("http.request.method")), "GET");
  EXPECT_EQ(std::get<std::string>(attribute("url.path")), "/v1/users/42");
  EXPECT_EQ(std::get<std::string>(attribute("http.route")), "/v1/users/{id}");
  EXPECT_EQ(std::get<std::int64_t>(attribute("http.response.status_code")), 200);
  EXPECT_EQ(std::get<std::string>(attribute("stoa.component")), "user");
  EXPECT_EQ(std::get<std::string>(attribute("stoa.request_id")), "req-1");
  EXPECT_EQ(json->find("s3cret"), std::string::npos);

  // One access-log line, without the query string.
  const auto lines = log_lines();
  ASSERT_EQ(lines.size(), 1u);
  const auto& line = lines[0];
  EXPECT_EQ(str(line.at("component")), "user");
  EXPECT_EQ(str(line.at("level")), "info");
  EXPECT_EQ(str(line.at("method")), "GET");
  EXPECT_EQ(str(line.at("path")), "/v1/users/42");
  EXPECT_EQ(str(line.at("route")), "/v1/users/{id}");
  EXPECT_EQ(line.at("status").as_int64(), 200);
  EXPECT_DOUBLE_EQ(line.at("duration_ms").to_number<double>(), 5.0);
  EXPECT_EQ(line.at("bytes_in").to_number<int>(), 5);
  EXPECT_EQ(line.at("bytes_out").to_number<int>(), 9);
  EXPECT_EQ(str(line.at("remote_address")), "127.0.0.1:50000");
  EXPECT_EQ(str(line.at("request_id")), "req-1");
  EXPECT_EQ(str(line.at("trace_id")), kTraceId);
  EXPECT_EQ(str(line.at("span_id")), req.trace.span_id.hex());
  EXPECT_EQ(file_.contents().find("s3cret"), std::string::npos) << "the query string leaked";

  // Metrics: the histogram has the route template, never the raw path.
  const std::string text = metrics_.expose();
  EXPECT_NE(
      text.find(
          R"(http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/v1/users/{id}",stoa_component="user"} 1)"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("/v1/users/42"), std::string::npos);
  EXPECT_NE(text.find(R"(http_server_active_requests{stoa_component="user"} 0)"),
            std::string::npos);
}

TEST_F(HttpTelemetryTest, StartsANewTraceWithoutAValidTraceparent) {
  for (const char* header :
       {"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"}) {
    http::Request req = request("GET", "/", "/");
    if (*header != '\0') req.headers.add("traceparent", header);
    req.headers.add("tracestate", "congo=t61rcWkgMzE");
    telemetry_.request_started(req);
    EXPECT_TRUE(req.trace.valid()) << header;
    EXPECT_NE(req.trace.trace_id.hex(), kTraceId) << header;
    EXPECT_FALSE(req.trace.parent_span_id.valid()) << header;
    EXPECT_EQ(req.trace.tracestate, "") << "tracestate without a valid traceparent: " << header;
    telemetry_.request_finished(req, http::Response::text(200, "ok"), 1ms);
    const auto spans = tracer_.trace_spans(req.trace.trace_id);
    ASSERT_EQ(spans.size(), 1u) << header;
    EXPECT_FALSE(spans[0].parent_span_id.valid());
  }
}

TEST_F(HttpTelemetryTest, KeepsTheIncomingSampledFlag) {
  http::Request req = request("GET", "/", "/");
  req.headers.add("traceparent",
                  "00-" + std::string(kTraceId) + "-" + std::string(kParentSpan) + "-00");
  telemetry_.request_started(req);
  EXPECT_EQ(req.trace.trace_id.hex(), kTraceId);
  EXPECT_FALSE(req.trace.sampled());
}

TEST_F(HttpTelemetryTest, UnmatchedRoutesAndUnknownMethodsKeepCardinalityBounded) {
  for (int i = 0; i < 3; ++i) {
    http::Request req = request("GET", "/no/such/path/" + std::to_string(i), "");
    telemetry_.request_started(req);
    telemetry_.request_finished(req, http::Response::text(404, "not found"), 1ms);
  }
  http::Request odd = request("BREW", "/pot", "");
  telemetry_.request_started(odd);
  telemetry_.request_finished(odd, http::Response::text(405, ""), 1ms);

  const std::string text = metrics_.expose();
  EXPECT_NE(
      text.find(
          R"(http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="404",http_route="unmatched",stoa_component="user"} 3)"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          R"(http_request_method="_OTHER",http_response_status_code="405",http_route="unmatched")"),
      std::string::npos);
  EXPECT_EQ(text.find("/no/such/path"), std::string::npos);
  EXPECT_EQ(text.find("BREW"), std::string::npos);

  const auto spans = tracer_.trace_spans(odd.trace.trace_id);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "HTTP");
  EXPECT_EQ(std::get<std::string>(*spans[0].attribute("http.request.method")), "_OTHER");
  EXPECT_EQ(std::get<std::string>(*spans[0].attribute("http.request.method_original")), "BREW");
  EXPECT_EQ(spans[0].attribute("http.route"), nullptr);

  const auto lines = log_lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(str(lines[0].at("route")), "unmatched");
  EXPECT_EQ(str(lines[0].at("path")), "/no/such/path/0");
}

TEST_F(HttpTelemetryTest, ServerErrorsMarkTheSpanAndLogAWarning) {
  http::Request req = request("POST", "/v1/orders", "/v1/orders");
  telemetry_.request_started(req);
  telemetry_.request_finished(req, http::Response::text(503, "busy"), 2ms);
  const auto spans = tracer_.trace_spans(req.trace.trace_id);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].status, SpanStatus::error);
  EXPECT_EQ(spans[0].name, "POST /v1/orders");
  const auto lines = log_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(str(lines[0].at("level")), "warn");
}

TEST_F(HttpTelemetryTest, CountsConnectionsRejectionsAndActiveRequests) {
  telemetry_.connection_opened();
  telemetry_.connection_opened();
  telemetry_.connection_closed();
  telemetry_.request_rejected(431, "header too large");
  telemetry_.request_rejected(431, "header too large");
  telemetry_.request_rejected(408, "header timeout");
  http::Request req = request("GET", "/", "/");
  telemetry_.request_started(req);
  const std::string text = metrics_.expose();
  EXPECT_NE(text.find(R"(stoa_http_server_open_connections{stoa_component="user"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          R"(stoa_http_server_rejected_requests_total{http_response_status_code="431",stoa_component="user"} 2)"),
      std::string::npos);
  EXPECT_NE(
      text.find(
          R"(stoa_http_server_rejected_requests_total{http_response_status_code="408",stoa_component="user"} 1)"),
      std::string::npos);
  EXPECT_NE(text.find(R"(http_server_active_requests{stoa_component="user"} 1)"),
            std::string::npos);
  telemetry_.request_finished(req, http::Response::text(200, ""), 1ms);

  telemetry_.server_error("accept", "too many open files");
  const auto lines = log_lines();
  bool found = false;
  for (const auto& line : lines) {
    if (str(line.at("msg")) == "server error") {
      found = true;
      EXPECT_EQ(str(line.at("level")), "warn");
      EXPECT_EQ(str(line.at("what")), "accept");
      EXPECT_EQ(str(line.at("detail")), "too many open files");
    }
  }
  EXPECT_TRUE(found);
}

TEST(HttpTelemetryAccessLogTest, AccessLogCanBeTurnedOff) {
  test::TempFile file;
  LoggerOptions options;
  options.fd = file.open_for_append();
  options.close_fd = true;
  Logger logger(options);
  Metrics metrics;
  Tracer tracer{TracerOptions{}};
  HttpTelemetry telemetry("gateway", metrics, tracer, false, &logger);
  http::Request req;
  req.method = "GET";
  req.path = "/";
  telemetry.request_started(req);
  telemetry.request_finished(req, http::Response::text(200, "ok"), 1ms);
  ASSERT_TRUE(logger.flush());
  EXPECT_EQ(file.contents(), "");
  EXPECT_EQ(tracer.trace_spans(req.trace.trace_id).size(), 1u) << "still traced";
}

TEST(HttpTelemetryMethodTest, NormalizesMethods) {
  EXPECT_EQ(normalize_method("GET"), "GET");
  EXPECT_EQ(normalize_method("PATCH"), "PATCH");
  EXPECT_EQ(normalize_method("get"), "_OTHER");
  EXPECT_EQ(normalize_method("PROPFIND"), "_OTHER");
}

}  // namespace
}  // namespace stoa::obs
