// The OTLP exporter against a real HTTP collector (Stoa's own server on a loopback port):
// delivery, a collector that fails for a while, and one that is too slow.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "observability/obs_test_support.h"
#include "observability/telemetry.h"
#include "runtime/event_loop.h"
#include "runtime/http_server.h"
#include "runtime/router.h"

namespace stoa::obs {
namespace {

using namespace std::chrono_literals;
using test::str;

// A collector: POST /v1/traces bodies are captured; `fail_first` requests get 503 and
// `delay` holds every answer.
class Collector {
 public:
  explicit Collector(int fail_first = 0, std::chrono::milliseconds delay = 0ms)
      : fail_first_(fail_first), delay_(delay), loop_(1) {
    http::Router router;
    router.add(
        "POST", "/v1/traces",
        [this](http::Request& request) -> Awaitable<http::Response> {
          if (delay_.count() > 0) {
            boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay_);
            co_await timer.async_wait(boost::asio::use_awaitable);
          }
          const int n = ++requests_;
          if (n <= fail_first_) co_return http::Response::text(503, "not yet");
          {
            std::lock_guard lock(mutex_);
            bodies_.push_back(request.body);
            content_types_.emplace_back(request.headers.get("Content-Type").value_or(""));
          }
          co_return http::Response::json(200, "{}");
        },
        http::RouteOptions{16 * 1024 * 1024});
    http::ListenerOptions listener;
    listener.name = "collector";
    server_ = std::make_unique<http::Server>(
        loop_, listener, http::ServerLimits{},
        std::make_shared<const http::Router>(std::move(router)), nullptr);
    server_->start();
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~Collector() {
    server_->begin_shutdown();
    server_->close_all();
    loop_.stop();
    thread_.join();
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1/traces";
  }
  int requests() const { return requests_.load(); }
  std::vector<std::string> bodies() const {
    std::lock_guard lock(mutex_);
    return bodies_;
  }
  std::vector<std::string> content_types() const {
    std::lock_guard lock(mutex_);
    return content_types_;
  }

  // Every span in every captured body.
  std::vector<boost::json::object> spans() const {
    std::vector<boost::json::object> out;
    for (const auto& body : bodies()) {
      const auto doc = test::parse_object(body);
      if (!doc.contains("resourceSpans")) continue;
      for (const auto& resource : doc.at("resourceSpans").as_array()) {
        for (const auto& scope : resource.at("scopeSpans").as_array()) {
          for (const auto& span : scope.at("spans").as_array()) out.push_back(span.as_object());
        }
      }
    }
    return out;
  }

 private:
  const int fail_first_;
  const std::chrono::milliseconds delay_;
  std::atomic<int> requests_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::vector<std::string> content_types_;
  EventLoop loop_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

TracerOptions exporting_to(const std::string& url) {
  TracerOptions options;
  options.service_name = "stoa-export-test";
  options.otlp_endpoint = url;
  options.export_interval = 50ms;
  options.export_timeout = 2s;
  return options;
}

TEST(OtlpExportTest, DeliversSpansAsOtlpJson) {
  Collector collector;
  Telemetry telemetry(exporting_to(collector.url()), false);

  // A request served with telemetry, continuing a caller's trace.
  http::ServerObserver& observer = telemetry.observer_for("user");
  http::Request request;
  request.method = "GET";
  request.path = "/v1/users/7";
  request.route = "/v1/users/{id}";
  request.headers.add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  observer.request_started(request);
  observer.request_finished(request, http::Response::text(200, "ok"), 3ms);

  ASSERT_TRUE(test::eventually([&] { return !collector.spans().empty(); }, 10s))
      << "no span reached the collector; requests: " << collector.requests();
  const auto spans = collector.spans();
  ASSERT_EQ(spans.size(), 1u);
  const auto& span = spans[0];
  EXPECT_EQ(str(span.at("traceId")), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(str(span.at("spanId")), request.trace.span_id.hex());
  EXPECT_EQ(str(span.at("parentSpanId")), "00f067aa0ba902b7");
  EXPECT_EQ(str(span.at("name")), "GET /v1/users/{id}");
  EXPECT_EQ(span.at("kind").as_int64(), 2);
  EXPECT_EQ(collector.content_types().at(0), "application/json");

  const auto doc = test::parse_object(collector.bodies().at(0));
  const auto& resource = doc.at("resourceSpans").at(0).at("resource").as_object();
  EXPECT_EQ(str(resource.at("attributes").at(0).at("value").at("stringValue")), "stoa-export-test");

  EXPECT_TRUE(test::eventually([&] { return telemetry.tracer().stats().exported == 1; }));
  const std::string metrics = telemetry.metrics().expose();
  EXPECT_NE(metrics.find("stoa_tracing_spans_exported_total 1"), std::string::npos) << metrics;
}

TEST(OtlpExportTest, FullBatchesGoOutBeforeTheInterval) {
  Collector collector;
  TracerOptions options = exporting_to(collector.url());
  options.export_interval = 1h;
  options.max_batch_spans = 10;
  Tracer tracer(options);
  const TraceId trace = TraceId::random();
  for (int i = 0; i < 10; ++i) {
    SpanRecord span;
    span.trace_id = trace;
    span.span_id = SpanId::random();
    span.name = "span " + std::to_string(i);
    span.start = span.end = std::chrono::system_clock::now();
    tracer.record(std::move(span));
  }
  ASSERT_TRUE(test::eventually([&] { return collector.spans().size() == 10; }, 10s));
  EXPECT_EQ(collector.requests(), 1);
}

TEST(OtlpExportTest, AFailingCollectorLosesBatchesAndExportResumes) {
  Collector collector(/*fail_first=*/2);
  TracerOptions options = exporting_to(collector.url());
  Tracer tracer(options);
  const auto record = [&](const std::string& name) { Span span(tracer, TraceContext{}, name); };
  // One span per export round until the collector has failed twice and then accepted one.
  int sent = 0;
  ASSERT_TRUE(test::eventually(
      [&] {
        if (tracer.stats().queued == 0) record("span " + std::to_string(sent++));
        return !collector.spans().empty();
      },
      20s));
  ASSERT_TRUE(tracer.flush(5s));
  const TracerStats stats = tracer.stats();
  EXPECT_GE(stats.dropped, 2u) << "the two refused batches are lost";
  EXPECT_GE(stats.exported, 1u);
  EXPECT_EQ(stats.exported + stats.dropped + stats.queued, stats.recorded);
  EXPECT_EQ(static_cast<std::uint64_t>(collector.spans().size()), stats.exported);
}

TEST(OtlpExportTest, ASlowCollectorLosesTheBatchAndNeverBlocksRecord) {
  Collector collector(/*fail_first=*/0, /*delay=*/3s);
  TracerOptions options = exporting_to(collector.url());
  options.export_timeout = 200ms;
  options.max_queue_spans = 50;
  Tracer tracer(options);
  for (int i = 0; i < 10; ++i) Span span(tracer, TraceContext{}, "slow");
  ASSERT_TRUE(test::eventually([&] { return tracer.stats().dropped >= 10; }, 10s))
      << "dropped " << tracer.stats().dropped;
  // Meanwhile record() keeps returning, whatever the exporter is doing.
  for (int i = 0; i < 10'000; ++i) Span span(tracer, TraceContext{}, "burst");
  TracerStats stats = tracer.stats();
  EXPECT_EQ(stats.recorded, 10'010u);
  EXPECT_LE(stats.queued, 50u + options.max_batch_spans);
  EXPECT_EQ(stats.exported + stats.dropped + stats.queued, stats.recorded);
  tracer.shutdown(300ms);
  stats = tracer.stats();
  EXPECT_EQ(stats.exported, 0u);
  EXPECT_EQ(stats.dropped, stats.recorded);
}

}  // namespace
}  // namespace stoa::obs
