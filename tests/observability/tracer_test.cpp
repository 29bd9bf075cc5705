// The tracer: in-memory traces for /traces, OTLP JSON encoding, and an exporter that never
// blocks record() and accounts for every span when the collector is unreachable.
#include "observability/tracer.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "observability/obs_test_support.h"

namespace stoa::obs {
namespace {

using namespace std::chrono_literals;
using test::parse_json;
using test::parse_object;
using test::str;

SpanRecord make_span(
    const TraceId& trace, std::string name, SpanId parent = {},
    std::chrono::system_clock::time_point start = std::chrono::system_clock::now()) {
  SpanRecord span;
  span.trace_id = trace;
  span.span_id = SpanId::random();
  span.parent_span_id = parent;
  span.name = std::move(name);
  span.kind = SpanKind::internal;
  span.start = start;
  span.end = start + 3ms;
  return span;
}

TracerOptions memory_only(std::size_t keep_traces = 512) {
  TracerOptions options;
  options.keep_traces = keep_traces;
  return options;
}

// A loopback port that refuses connections: bound, never listening, held until destroyed.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t length = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST(TracerTest, KeepsOnlyTheMostRecentTraces) {
  Tracer tracer(memory_only(3));
  std::vector<TraceId> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(TraceId::random());
    tracer.record(make_span(ids.back(), "trace " + std::to_string(i)));
  }
  EXPECT_FALSE(tracer.trace_json(ids[0].hex()).has_value());
  EXPECT_FALSE(tracer.trace_json(ids[1].hex()).has_value());
  for (int i = 2; i < 5; ++i) EXPECT_TRUE(tracer.trace_json(ids[i].hex()).has_value()) << i;

  const auto list = parse_json(tracer.traces_json());
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.as_array().size(), 3u);
  EXPECT_EQ(str(list.as_array()[0].at("trace_id")), ids[4].hex());  // newest first
  EXPECT_EQ(str(list.as_array()[0].at("name")), "trace 4");
  EXPECT_EQ(str(list.as_array()[2].at("trace_id")), ids[2].hex());
  EXPECT_EQ(parse_json(tracer.traces_json(2)).as_array().size(), 2u);
}

TEST(TracerTest, CapsSpansKeptPerTrace) {
  TracerOptions options = memory_only();
  options.max_spans_per_trace = 10;
  Tracer tracer(options);
  const TraceId id = TraceId::random();
  for (int i = 0; i < 25; ++i) tracer.record(make_span(id, "span"));
  EXPECT_EQ(tracer.trace_spans(id).size(), 10u);
}

TEST(TracerTest, TraceJsonFindsSpansById) {
  Tracer tracer(memory_only());
  const TraceId id = TraceId::random();
  const auto t0 = std::chrono::system_clock::now();
  SpanRecord root = make_span(id, "GET /v1/orders/{id}", {}, t0);
  root.kind = SpanKind::server;
  root.end = t0 + 20ms;
  root.set("http.response.status_code", std::int64_t{500});
  root.set("url.path", std::string("/v1/orders/7"));
  root.set("cached", false);
  root.set("ratio", 0.5);
  root.status = SpanStatus::error;
  root.status_message = "upstream failed";
  SpanRecord child = make_span(id, "SELECT orders", root.span_id, t0 + 5ms);
  child.kind = SpanKind::client;
  // The child ends first, so it is recorded first.
  tracer.record(child);
  tracer.record(root);
  tracer.record(make_span(TraceId::random(), "another trace"));

  const auto json = tracer.trace_json(id.hex());
  ASSERT_TRUE(json.has_value());
  const auto trace = parse_object(*json);
  EXPECT_EQ(str(trace.at("trace_id")), id.hex());
  const auto& spans = trace.at("spans").as_array();
  ASSERT_EQ(spans.size(), 2u);
  // Ordered by start: the root first.
  EXPECT_EQ(str(spans[0].at("name")), "GET /v1/orders/{id}");
  EXPECT_EQ(str(spans[0].at("span_id")), root.span_id.hex());
  EXPECT_TRUE(spans[0].at("parent_span_id").is_null());
  EXPECT_EQ(str(spans[0].at("kind")), "server");
  EXPECT_EQ(str(spans[0].at("status")), "error");
  EXPECT_EQ(str(spans[0].at("status_message")), "upstream failed");
  EXPECT_NEAR(spans[0].at("duration_ms").to_number<double>(), 20.0, 1e-6);
  EXPECT_EQ(spans[0].at("attributes").at("http.response.status_code").as_int64(), 500);
  EXPECT_EQ(str(spans[0].at("attributes").at("url.path")), "/v1/orders/7");
  EXPECT_EQ(spans[0].at("attributes").at("cached").as_bool(), false);
  EXPECT_EQ(str(spans[1].at("parent_span_id")), root.span_id.hex());
  EXPECT_EQ(str(spans[1].at("kind")), "client");

  // Upper-case ids are the same trace; malformed or unknown ids are not found.
  std::string upper = id.hex();
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(tracer.trace_json(upper).has_value());
  EXPECT_FALSE(tracer.trace_json("not-a-trace-id").has_value());
  EXPECT_FALSE(tracer.trace_json(TraceId::random().hex()).has_value());
  EXPECT_FALSE(tracer.trace_json(std::string(32, '0')).has_value());

  const auto list = parse_json(tracer.traces_json()).as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(str(list[1].at("name")), "GET /v1/orders/{id}");  // the root's name
  EXPECT_EQ(list[1].at("span_count").to_number<int>(), 2);
  EXPECT_NEAR(list[1].at("duration_ms").to_number<double>(), 20.0, 1e-6);
}

TEST(TracerTest, SpanHelperRecordsAChildOfItsParent) {
  Tracer tracer(memory_only());
  TraceContext parent = TraceContext::child_of(TraceContext{});
  TraceContext child_context;
  {
    Span span(tracer, parent, "cache get", SpanKind::client);
    span.set_attribute("db.system", "redis");
    span.set_attribute("hits", std::int64_t{1});
    span.set_error("timeout");
    child_context = span.context();
    EXPECT_EQ(tracer.trace_spans(parent.trace_id).size(), 0u) << "recorded before it ended";
  }
  EXPECT_EQ(child_context.trace_id, parent.trace_id);
  EXPECT_EQ(child_context.parent_span_id, parent.span_id);
  EXPECT_NE(child_context.span_id, parent.span_id);
  const auto spans = tracer.trace_spans(parent.trace_id);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].span_id, child_context.span_id);
  EXPECT_EQ(spans[0].parent_span_id, parent.span_id);
  EXPECT_EQ(spans[0].status, SpanStatus::error);
  ASSERT_NE(spans[0].attribute("db.system"), nullptr);
  EXPECT_EQ(std::get<std::string>(*spans[0].attribute("db.system")), "redis");

  // Without a parent: a new trace.
  { Span root(tracer, TraceContext{}, "job"); }
  EXPECT_EQ(parse_json(tracer.traces_json()).as_array().size(), 2u);
}

TEST(TracerTest, OtlpJsonEncoding) {
  const TraceId trace = *TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  SpanRecord span;
  span.trace_id = trace;
  span.span_id = *SpanId::from_hex("00f067aa0ba902b7");
  span.parent_span_id = *SpanId::from_hex("b7ad6b7169203331");
  span.name = "GET /v1/users/{id}";
  span.kind = SpanKind::server;
  span.start = std::chrono::system_clock::time_point(std::chrono::nanoseconds(1700000000123456789));
  span.end = span.start + 1500us;
  span.set("http.response.status_code", std::int64_t{503});
  span.set("url.path", std::string("/v1/users/\"7\""));
  span.set("ratio", 0.75);
  span.set("retry", true);
  span.status = SpanStatus::error;
  span.status_message = "upstream";
  SpanRecord root = span;
  root.parent_span_id = SpanId{};
  root.status = SpanStatus::unset;
  root.kind = SpanKind::producer;

  const std::string body = otlp_json("stoa-test", {std::make_shared<const SpanRecord>(span),
                                                   std::make_shared<const SpanRecord>(root)});
  const auto doc = parse_object(body);
  const auto& resource_spans = doc.at("resourceSpans").as_array();
  ASSERT_EQ(resource_spans.size(), 1u);
  const auto& attributes = resource_spans[0].at("resource").at("attributes").as_array();
  ASSERT_EQ(attributes.size(), 1u);
  EXPECT_EQ(str(attributes[0].at("key")), "service.name");
  EXPECT_EQ(str(attributes[0].at("value").at("stringValue")), "stoa-test");
  const auto& scope_spans = resource_spans[0].at("scopeSpans").as_array();
  EXPECT_EQ(str(scope_spans[0].at("scope").at("name")), "stoa");
  const auto& spans = scope_spans[0].at("spans").as_array();
  ASSERT_EQ(spans.size(), 2u);

  const auto& s = spans[0].as_object();
  EXPECT_EQ(str(s.at("traceId")), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(str(s.at("spanId")), "00f067aa0ba902b7");
  EXPECT_EQ(str(s.at("parentSpanId")), "b7ad6b7169203331");
  EXPECT_EQ(str(s.at("name")), "GET /v1/users/{id}");
  EXPECT_EQ(s.at("kind").as_int64(), 2);
  EXPECT_EQ(str(s.at("startTimeUnixNano")), "1700000000123456789");
  EXPECT_EQ(str(s.at("endTimeUnixNano")), "1700000000124956789");
  EXPECT_EQ(s.at("status").at("code").as_int64(), 2);
  EXPECT_EQ(str(s.at("status").at("message")), "upstream");
  std::map<std::string, boost::json::value> values;
  for (const auto& attribute : s.at("attributes").as_array()) {
    values[str(attribute.at("key"))] = attribute.at("value");
  }
  EXPECT_EQ(str(values["http.response.status_code"].at("intValue")), "503");
  EXPECT_EQ(str(values["url.path"].at("stringValue")), "/v1/users/\"7\"");
  EXPECT_DOUBLE_EQ(values["ratio"].at("doubleValue").as_double(), 0.75);
  EXPECT_EQ(values["retry"].at("boolValue").as_bool(), true);

  const auto& r = spans[1].as_object();
  EXPECT_FALSE(r.contains("parentSpanId"));
  EXPECT_FALSE(r.contains("status"));
  EXPECT_EQ(r.at("kind").as_int64(), 4);
}

TEST(TracerTest, WithoutExportNothingIsQueued) {
  Tracer tracer(memory_only());
  EXPECT_FALSE(tracer.exporting());
  tracer.record(make_span(TraceId::random(), "x"));
  const TracerStats stats = tracer.stats();
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_TRUE(tracer.flush(1ms));
}

TEST(TracerTest, UnreachableCollectorDropsAndCountsWithoutBlocking) {
  RefusingPort collector;
  TracerOptions options;
  options.otlp_endpoint = collector.url();
  options.export_interval = 20ms;
  options.export_timeout = 500ms;
  options.max_queue_spans = 1000;
  options.max_batch_spans = 100;
  options.keep_traces = 64;
  Tracer tracer(options);
  ASSERT_TRUE(tracer.exporting());

  const int kSpans = 100'000;
  const TraceId trace = TraceId::random();
  for (int i = 0; i < kSpans; ++i) tracer.record(make_span(trace, "burst"));

  // Every call returned; the queue bound held and the accounting adds up.
  TracerStats stats = tracer.stats();
  EXPECT_EQ(stats.recorded, static_cast<std::uint64_t>(kSpans));
  EXPECT_LE(stats.queued, 1000u + 100u);
  EXPECT_GE(stats.dropped, static_cast<std::uint64_t>(kSpans) - 1000u - 100u * 50u);
  EXPECT_EQ(stats.exported + stats.dropped + stats.queued, stats.recorded);

  // The exporter keeps trying and failing: what was queued is dropped too.
  EXPECT_TRUE(test::eventually([&] { return tracer.stats().queued == 0; }));
  stats = tracer.stats();
  EXPECT_EQ(stats.exported, 0u);
  EXPECT_EQ(stats.dropped, static_cast<std::uint64_t>(kSpans));

  // A span recorded later takes the same path, and shutdown accounts for everything.
  tracer.record(make_span(trace, "late"));
  tracer.shutdown(500ms);
  stats = tracer.stats();
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(stats.exported + stats.dropped, stats.recorded);
  // Kept in memory regardless of export.
  EXPECT_EQ(tracer.trace_spans(trace).size(), options.max_spans_per_trace);
}

TEST(TracerTest, ShutdownIsBoundedAndIdempotent) {
  RefusingPort collector;
  TracerOptions options;
  options.otlp_endpoint = collector.url();
  options.export_interval = 10s;  // nothing would be sent before shutdown
  Tracer tracer(options);
  for (int i = 0; i < 10; ++i) tracer.record(make_span(TraceId::random(), "x"));
  const auto start = std::chrono::steady_clock::now();
  tracer.shutdown(300ms);
  tracer.shutdown(300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  const TracerStats stats = tracer.stats();
  EXPECT_EQ(stats.recorded, 10u);
  EXPECT_EQ(stats.dropped, 10u);
  EXPECT_EQ(stats.queued, 0u);
}

TEST(TracerTest, UnsampledSpansAreKeptButNotExported) {
  RefusingPort collector;
  TracerOptions options;
  options.otlp_endpoint = collector.url();
  Tracer tracer(options);
  SpanRecord span = make_span(TraceId::random(), "unsampled");
  span.sampled = false;
  const TraceId id = span.trace_id;
  tracer.record(span);
  EXPECT_EQ(tracer.stats().recorded, 0u);
  EXPECT_EQ(tracer.trace_spans(id).size(), 1u);
}

}  // namespace
}  // namespace stoa::obs
