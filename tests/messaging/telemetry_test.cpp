#include "messaging/telemetry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "messaging/embedded/embedded_broker.h"
#include "observability/telemetry.h"
#include "runtime/event_loop.h"
#include "support/run_sync.h"

namespace stoa::messaging {
namespace {

using namespace std::chrono_literals;

TEST(MessagingTelemetry, ConsumerSpanContinuesTheProducersTraceAndMetricsCount) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("stoa-messaging-telemetry-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  obs::Telemetry telemetry(obs::TracerOptions{}, false);
  auto opened = embedded::open_embedded(BrokerOptions{}, dir.string());
  ASSERT_TRUE(opened) << opened.error().message;
  auto broker = instrument(std::move(opened).value(), telemetry);

  const TraceContext request = TraceContext::child_of(TraceContext{});
  Message m;
  m.topic = "stoa.order";
  m.event.id = "e-1";
  m.event.source = "/stoa/order";
  m.event.type = "stoa.order.placed.v1";
  m.event.traceparent = request.traceparent();
  const GroupSpec group{"billing", {"stoa.order"}};
  const ConsumerOptions options{"billing", 0};
  const std::string reason = "try later";

  EventLoop loop(1);
  std::thread runner([&loop] { loop.run(); });
  auto task = [&]() -> Awaitable<Result<Delivery>> {
    co_await broker->declare_group(group);
    co_await broker->publish(m);
    auto consumer = co_await broker->subscribe(options);
    auto d = co_await (*consumer)->receive(10s);
    if (d) co_await (*consumer)->nack(*d, reason, 1h);
    co_return d;
  };
  auto delivery = ::stoa::test::run_sync(loop, std::move(task), 30s);
  loop.stop();
  runner.join();
  broker->close();
  std::filesystem::remove_all(dir);

  ASSERT_TRUE(delivery) << delivery.error().message;
  // The event carries the producer span's context, a child of the request.
  auto producer = parse_traceparent(delivery->message.event.traceparent);
  ASSERT_TRUE(producer);
  EXPECT_EQ(producer->trace_id, request.trace_id);
  EXPECT_EQ(delivery->trace.trace_id, request.trace_id);
  EXPECT_EQ(delivery->trace.parent_span_id, producer->span_id);

  const auto spans = telemetry.tracer().trace_spans(request.trace_id);
  ASSERT_EQ(spans.size(), 2u);
  const obs::SpanRecord* publish = nullptr;
  const obs::SpanRecord* process = nullptr;
  for (const auto& s : spans) {
    if (s.kind == obs::SpanKind::producer) publish = &s;
    if (s.kind == obs::SpanKind::consumer) process = &s;
  }
  ASSERT_TRUE(publish && process);
  EXPECT_EQ(publish->name, "publish stoa.order");
  EXPECT_EQ(publish->parent_span_id, request.span_id);
  EXPECT_EQ(process->name, "process stoa.order");
  EXPECT_EQ(process->parent_span_id, publish->span_id);
  EXPECT_EQ(process->status, obs::SpanStatus::error);  // nacked

  const std::string metrics = telemetry.metrics().expose();
  EXPECT_NE(
      metrics.find("messaging_publish_messages_total{messaging_destination_name=\"stoa.order\""
                   ",messaging_system=\"embedded\"} 1"),
      std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("messaging_process_messages_total{messaging_consumer_group_name="
                         "\"billing\",messaging_system=\"embedded\",stoa_outcome=\"retry\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("messaging_receive_messages_total"), std::string::npos);
}

}  // namespace
}  // namespace stoa::messaging
