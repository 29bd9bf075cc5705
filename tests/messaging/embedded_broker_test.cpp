// The broker contract on the embedded broker, and what is particular to it: the URL, the
// directory lock, and recovery after a crash (embedded_durability_test.cpp kills a process).
#include "messaging/embedded/embedded_broker.h"

#include "messaging/broker_contract.h"
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

}  // namespace
}  // namespace stoa::messaging::test
