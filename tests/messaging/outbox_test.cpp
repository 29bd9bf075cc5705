// The outbox and inbox contract on SQLite (a database file in the test's scratch directory,
// so that two connections reach it as two processes would).
#include "messaging/outbox_contract.h"
#include "runtime/config.h"

namespace stoa::messaging::test {
namespace {

std::optional<sql::DatabaseOptions> sqlite_in(const std::string& scratch) {
  sql::DatabaseOptions options;
  options.url = "sqlite://" + scratch + "/stoa.db";
  return options;
}

INSTANTIATE_TEST_SUITE_P(Sqlite, OutboxContract,
                         ::testing::Values(OutboxDatabase{"sqlite", sqlite_in}),
                         [](const auto& info) { return info.param.name; });

Config config_with(std::map<std::string, std::string> env) {
  auto config = Config::load("", [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
  if (!config) throw std::runtime_error(config.error().message);
  return std::move(config).value();
}

TEST(OutboxOptions, FromTheOutboxSectionWithTheBrokersRetryPolicy) {
  auto options = OutboxOptions::from_config(
      config_with({{"STOA_OUTBOX_BATCH_SIZE", "32"}, {"STOA_BROKER_RETRY_DELAY", "2s"}}));
  EXPECT_EQ(options.batch_size, 32u);
  EXPECT_EQ(options.poll_interval, 100ms);
  EXPECT_EQ(options.lease_timeout, 30s);
  EXPECT_EQ(options.sent_ttl, 24h);
  EXPECT_EQ(options.backoff(1), 2s);
  EXPECT_EQ(options.backoff(3), 8s);
  EXPECT_EQ(options.backoff(100), 5min);
  EXPECT_THROW(OutboxOptions::from_config(config_with({{"STOA_OUTBOX_BATCH_SIZE", "0"}})),
               std::invalid_argument);
  EXPECT_THROW(OutboxOptions::from_config(config_with({{"STOA_OUTBOX_LEASE_TIMEOUT", "10ms"}})),
               std::invalid_argument);
}

}  // namespace
}  // namespace stoa::messaging::test
