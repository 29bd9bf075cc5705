// The broker contract on the embedded broker, and what is particular to it: the URL, the
// directory lock, and recovery after a crash (embedded_durability_test.cpp kills a process).
#include "messaging/embedded/embedded_broker.h"

#include "messaging/broker_contract.h"
#include "runtime/clock.h"
#include "runtime/config.h"

namespace stoa::messaging::test {
namespace {

Result<std::shared_ptr<Broker>> open_in(const BrokerOptions& options, const std::string& scratch) {
  return embedded::open_embedded(options, scratch + "/events");
}

INSTANTIATE_TEST_SUITE_P(Embedded, BrokerContract,
                         ::testing::Values(BrokerBackend{"embedded", open_in}),
                         [](const auto& info) { return info.param.name; });

TEST(EmbeddedBroker, UrlNamesTheDirectory) {
  EXPECT_EQ(embedded::embedded_dir("embedded://data/events").value(), "data/events");
  EXPECT_EQ(embedded::embedded_dir("embedded:///var/lib/stoa").value(), "/var/lib/stoa");
  EXPECT_FALSE(embedded::embedded_dir("embedded://"));
  EXPECT_FALSE(embedded::embedded_dir("embedded://x?fsync=off"));
}

TEST(EmbeddedBroker, OtherSchemesAreRefusedClearly) {
  EventLoop loop(1);
  BrokerOptions options;
  options.url = "kafka://";  // the Kafka adapter is built: a bad URL is its error
  EXPECT_NE(open_broker(options, loop, nullptr).error().message.find("kafka://HOST:PORT"),
            std::string::npos);
  options.url = "carrier-pigeon://coop";
  EXPECT_EQ(open_broker(options, loop, nullptr).error().code, Errc::invalid_argument);
}

Config config_with(std::map<std::string, std::string> env) {
  auto config = Config::load("", [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
  if (!config) throw std::runtime_error(config.error().message);
  return std::move(config).value();
}

TEST(BrokerOptions, FromTheBrokerSection) {
  const auto defaults = BrokerOptions::from_config(config_with({}));
  EXPECT_EQ(defaults.url, "embedded://data/events");
  EXPECT_EQ(defaults.max_attempts, 5u);
  EXPECT_EQ(defaults.retry_delay, 1s);
  EXPECT_EQ(defaults.max_retry_delay, 5min);
  EXPECT_EQ(defaults.visibility_timeout, 30s);
  EXPECT_EQ(defaults.prefetch, 64u);
  // Exponential backoff, capped.
  EXPECT_EQ(defaults.backoff(1), 1s);
  EXPECT_EQ(defaults.backoff(3), 4s);
  EXPECT_EQ(defaults.backoff(30), 5min);
  EXPECT_THROW(BrokerOptions::from_config(config_with({{"STOA_BROKER_MAX_ATTEMPTS", "0"}})),
               std::invalid_argument);
  EXPECT_THROW(BrokerOptions::from_config(config_with({{"STOA_BROKER_RETRY_DELAY", "10m"}})),
               std::invalid_argument);
  EXPECT_THROW(BrokerOptions::from_config(config_with({{"STOA_BROKER_PREFETCH", "0"}})),
               std::invalid_argument);
}

TEST(EmbeddedBroker, OneProcessOwnsADirectory) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("stoa-embedded-lock-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  BrokerOptions options;
  auto first = embedded::open_embedded(options, dir.string());
  ASSERT_TRUE(first) << first.error().message;
  auto second = embedded::open_embedded(options, dir.string());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::conflict);
  (*first)->close();
  auto third = embedded::open_embedded(options, dir.string());
  EXPECT_TRUE(third) << "close() did not release the directory";
  if (third) (*third)->close();
  std::filesystem::remove_all(dir);
}

// A broker on a clock the test moves: visibility deadlines and retry due times follow it.
class EmbeddedOnAClock : public ::testing::Test {
 protected:
  EmbeddedOnAClock() {
    options_.visibility_timeout = 30s;
    options_.retry_delay = 10min;
    options_.max_retry_delay = 10min;
    options_.clock = &clock_;
    broker_ = embedded::open_embedded(options_, scratch_.path() + "/events").value();
    const GroupSpec spec{"g", {"t"}};
    EXPECT_TRUE(
        run([&]() -> Awaitable<Status> { co_return co_await broker_->declare_group(spec); }));
    Message m;
    m.topic = "t";
    m.event.id = Uuid::v7().to_string();
    m.event.source = "/stoa/test";
    m.event.type = "stoa.test.counted.v1";
    m.event.subject = "item-1";
    EXPECT_TRUE(run([&]() -> Awaitable<Status> { co_return co_await broker_->publish(m); }));
    const ConsumerOptions consumer_options{"g", 0};  // named: GCC 12 and co_await temporaries
    consumer_ = run([&]() -> Awaitable<Result<std::unique_ptr<Consumer>>> {
                  co_return co_await broker_->subscribe(consumer_options);
                }).value();
  }
  ~EmbeddedOnAClock() override {
    consumer_->close();
    broker_->close();
  }

  // On one context for the whole test: the broker may still post to it after a call returns.
  template <class Make>
  ::stoa::test::TaskValue<Make> run(Make make) {
    return ::stoa::test::run_sync(io_, std::move(make));
  }

  // Waits briefly in real time: with the clock standing still, nothing becomes due meanwhile.
  Result<Delivery> receive(std::chrono::milliseconds wait = 200ms) {
    return run(
        [&]() -> Awaitable<Result<Delivery>> { co_return co_await consumer_->receive(wait); });
  }

  // Moves the clock to a moment before `due` (nothing is delivered yet), then to `due`, and
  // receives.
  Result<Delivery> receive_when_due(std::chrono::milliseconds due) {
    clock_.advance(due - 1ms);
    auto early = receive();
    EXPECT_FALSE(early) << "delivered " << (due - 1ms).count() << "ms on, before it was due";
    if (early) return early;
    clock_.advance(1ms);
    return receive();
  }

  ManualClock clock_;
  boost::asio::io_context io_;
  ::stoa::test::ScratchDir scratch_{"stoa-embedded-clock"};
  BrokerOptions options_;
  std::shared_ptr<Broker> broker_;
  std::unique_ptr<Consumer> consumer_;
};

TEST_F(EmbeddedOnAClock, AnUnackedDeliveryComesBackWhenItsVisibilityTimeoutEnds) {
  auto first = receive();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->attempt, 1u);
  auto again = receive_when_due(30s);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->attempt, 2u);
  EXPECT_EQ(again->message.event.id, first->message.event.id);
  EXPECT_TRUE(run([&]() -> Awaitable<Status> { co_return co_await consumer_->ack(*again); }));
}

TEST_F(EmbeddedOnAClock, ANackedDeliveryWaitsForItsRetryDelay) {
  auto first = receive();
  ASSERT_TRUE(first) << first.error().message;
  const std::string reason = "try later";
  ASSERT_TRUE(run([&]() -> Awaitable<Status> {
    co_return co_await consumer_->nack(*first, reason, std::nullopt);
  }));
  auto retried = receive_when_due(10min);
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_EQ(retried->attempt, 2u);
}

}  // namespace
}  // namespace stoa::messaging::test
