// The broker contract and the worker contract on RabbitMQ (STOA_TEST_AMQP_URL, started by
// scripts/test-servers), and what only a server can show: a broker restart under publishers
// and consumers.
#include "messaging/rabbitmq/rabbitmq_broker.h"

#include "messaging/broker_contract.h"
#include "support/test_servers.h"
#include "workers/worker_contract.h"

namespace stoa::messaging::test {
namespace {

constexpr const char* kUrlVariable = "STOA_TEST_AMQP_URL";

// Each test gets its own namespace (exchange and queue names), named after its scratch
// directory, so tests and runs sharing the server never see each other's messages; opening
// twice on one scratch reaches the same queues.
std::string url_for(const std::string& scratch) {
  std::string ns = "t";
  for (char c : scratch.substr(scratch.size() > 12 ? scratch.size() - 12 : 0)) {
    if (std::isalnum(static_cast<unsigned char>(c))) ns += c;
  }
  return ::stoa::test::server_url(kUrlVariable) + "?namespace=" + ns;
}

Result<std::shared_ptr<Broker>> open_rabbitmq(const BrokerOptions& options,
                                              const std::string& scratch) {
  BrokerOptions o = options;
  o.url = url_for(scratch);
  auto broker = rabbitmq::open_rabbitmq(o);
  if (!broker) return broker;
  // It connects in the background: wait until it takes publishes.
  for (int i = 0; i < 300; ++i) {
    auto ping = [&]() -> Awaitable<Status> { co_return co_await (*broker)->ping(); };
    if (::stoa::test::run_sync(std::move(ping))) return broker;
    std::this_thread::sleep_for(100ms);
  }
  return Error{Errc::unavailable, "RabbitMQ did not accept the connection within 30 s"};
}

std::string missing_server() {
  if (!::stoa::test::server_url(kUrlVariable).empty()) return "";
  return std::string(kUrlVariable) + " is not set (./dev test starts the test servers)";
}

INSTANTIATE_TEST_SUITE_P(RabbitMQ, BrokerContract,
                         ::testing::Values(BrokerBackend{"rabbitmq", open_rabbitmq,
                                                         missing_server}),
                         [](const auto& info) { return info.param.name; });

// The worker runtime over this backend: groups sharing a topic see only their types, and
// nothing but a failure reaches a dead-letter queue (tests/workers/worker_contract.h).
using workers::test::WorkerContract;
INSTANTIATE_TEST_SUITE_P(RabbitMQ, WorkerContract,
                         ::testing::Values(BrokerBackend{"rabbitmq", open_rabbitmq,
                                                         missing_server}),
                         [](const auto& info) { return info.param.name; });

// The same fixture, for tests that only RabbitMQ runs.
class RabbitBroker : public BrokerContract {};

TEST_P(RabbitBroker, ConsumersAndPublishersRecoverFromABrokerRestartLosingNothingConfirmed) {
  options_.visibility_timeout = 60s;
  open();
  ASSERT_TRUE(declare("restart", {"orders"}));
  auto c = consumer("restart");
  std::set<std::string> expected;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(publish(message("orders", i)));
    expected.insert("item-" + std::to_string(i));
  }
  for (int i = 0; i < 10; ++i) {
    auto d = receive(*c);
    ASSERT_TRUE(d) << d.error().message;
    ASSERT_TRUE(ack(*c, *d));
    expected.erase(d->message.event.subject);
  }

  ASSERT_TRUE(::stoa::test::control_server("rabbitmq", "stop"));
  // During the outage a publish fails at once with unavailable; it does not wait.
  auto during = publish(message("orders", 100));
  ASSERT_FALSE(during) << "a publish succeeded with the broker stopped";
  EXPECT_EQ(during.error().code, Errc::unavailable) << during.error().message;
  EXPECT_FALSE(run<Status>([&]() -> Awaitable<Status> { co_return co_await broker_->ping(); }));

  ASSERT_TRUE(::stoa::test::control_server("rabbitmq", "start"));
  // The adapter reconnects by itself (backoff of at most 5 s) and re-declares its topology.
  Status published = Error{Errc::unavailable, "not tried"};
  for (int attempt = 0; attempt < 300 && !published; ++attempt) {
    published = publish(message("orders", 20));
    if (!published) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(published) << published.error().message;
  expected.insert("item-20");
  for (int i = 21; i < 30; ++i) {
    ASSERT_TRUE(publish(message("orders", i)));
    expected.insert("item-" + std::to_string(i));
  }

  // The consumer opened before the restart is subscribed again; every message confirmed and
  // not acked arrives (at least once).
  std::set<std::string> seen;
  for (int i = 0;
       i < 200 && !std::includes(seen.begin(), seen.end(), expected.begin(), expected.end()); ++i) {
    auto d = receive(*c, 1s);
    if (!d) continue;
    seen.insert(d->message.event.subject);
    EXPECT_TRUE(ack(*c, *d));
  }
  for (const auto& subject : expected) EXPECT_TRUE(seen.contains(subject)) << subject << " lost";
}

TEST_P(RabbitBroker, GroupsReportsQueueDepths) {
  open();
  ASSERT_TRUE(declare("depths", {"t"}));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(publish(message("t", i)));
  // RabbitMQ counts a queue's ready messages once they are routed; the confirm says they are.
  auto status = status_of("depths");
  EXPECT_EQ(status.ready, 3u);
  EXPECT_EQ(status.topics, std::vector<std::string>{"t"});
  auto c = consumer("depths", 1);
  auto d = receive(*c);
  ASSERT_TRUE(d);
  ASSERT_TRUE(nack(*c, *d, "later", 1h));
  status = status_of("depths");
  EXPECT_EQ(status.delayed, 1u);
  // A message on its way to this process's consumer is in neither count for a moment:
  // with the consumer closed, RabbitMQ has them all back in the queues.
  c->close();
  status = status_of("depths");
  for (int i = 0; i < 100 && status.ready != 2u; ++i) {
    std::this_thread::sleep_for(50ms);
    status = status_of("depths");
  }
  EXPECT_EQ(status.ready, 2u);
  EXPECT_EQ(status.delayed, 1u);
  EXPECT_EQ(status.in_flight, 0u);
}

INSTANTIATE_TEST_SUITE_P(RabbitMQ, RabbitBroker,
                         ::testing::Values(BrokerBackend{"rabbitmq", open_rabbitmq,
                                                         missing_server}),
                         [](const auto& info) { return info.param.name; });

TEST(RabbitBrokerOffline, PublishWithNoServerFailsAtOnceWithUnavailable) {
  // A port nothing listens on: connecting is refused; the adapter keeps retrying in the
  // background, and a publish meanwhile errs instead of waiting.
  BrokerOptions options;
  options.url = "amqp://guest:guest@127.0.0.1:1/";
  auto broker = rabbitmq::open_rabbitmq(options);
  ASSERT_TRUE(broker) << broker.error().message;
  Message m;
  m.topic = "t";
  m.event.id = "1";
  m.event.source = "/test";
  m.event.type = "stoa.test.happened.v1";
  auto publish = [&]() -> Awaitable<Status> { co_return co_await (*broker)->publish(m); };
  auto status = ::stoa::test::run_sync(std::move(publish));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, Errc::unavailable) << status.error().message;
  (*broker)->close();
}

}  // namespace
}  // namespace stoa::messaging::test
