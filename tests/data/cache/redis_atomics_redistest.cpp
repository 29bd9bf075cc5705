// The rate limiter, lock and counters on a real redis-server.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "data/cache/atomics_checks.h"
#include "data/cache/redis_cache.h"
#include "support/test_servers.h"

namespace stoa::cache {
namespace {

namespace asio = boost::asio;
using ::stoa::test::run_sync;

std::shared_ptr<RedisCache> open(const std::string& url) {
  Result<RedisOptions> o = parse_redis_url(url);
  EXPECT_TRUE(o.ok());
  // These tests are about the scripts' semantics, not timeouts: generous bounds keep a loaded
  // machine (or the sanitizer build) from turning a slow reply into a failure.
  o.value().connect_timeout = std::chrono::seconds(10);
  o.value().command_timeout = std::chrono::seconds(10);
  return std::make_shared<RedisCache>(std::make_shared<RedisClient>(o.value()));
}

std::string prefix() {
  return "stoa-test:atomics:" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ":";
}

TEST(RedisAtomics, RateLimiter) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  auto cache = open(url);
  testing::check_rate_limiter(io, cache->atomics(), prefix());
}

TEST(RedisAtomics, Lock) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  auto cache = open(url);
  testing::check_lock(io, cache->atomics(), prefix());
}

TEST(RedisAtomics, Counter) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  auto cache = open(url);
  testing::check_counter(io, cache->atomics(), prefix());
}

TEST(RedisAtomics, WindowCounter) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  auto cache = open(url);
  testing::check_window_counter(io, cache->atomics(), prefix());
}

TEST(RedisAtomics, SharedAcrossClients) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  auto one = open(url);
  auto two = open(url);  // as another process would
  const std::string p = prefix();
  const RateLimit limit{.rate = 2, .period = std::chrono::hours(1), .burst = 2};
  EXPECT_TRUE(run_sync(io, [&]() { return one->atomics().rate_limit(p + "rl", limit); })->allowed);
  EXPECT_TRUE(run_sync(io, [&]() { return two->atomics().rate_limit(p + "rl", limit); })->allowed);
  EXPECT_FALSE(run_sync(io, [&]() { return one->atomics().rate_limit(p + "rl", limit); })->allowed);
  const std::string a = "a", b = "b";
  EXPECT_TRUE(run_sync(io, [&]() {
                return one->atomics().try_lock(p + "lock", a, std::chrono::seconds(10));
              }).value());
  EXPECT_FALSE(run_sync(io, [&]() {
                 return two->atomics().try_lock(p + "lock", b, std::chrono::seconds(10));
               }).value());
}

TEST(RedisAtomics, ScriptsSurviveScriptFlush) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  auto cache = open(url);
  const std::string p = prefix();
  const RateLimit limit{.rate = 100, .period = std::chrono::hours(1), .burst = 100};
  ASSERT_TRUE(run_sync(io, [&]() { return cache->atomics().rate_limit(p + "rl", limit); }).ok());
  // Redis forgets its scripts (as after a restart): EVALSHA answers NOSCRIPT, the script is
  // loaded again and the call still works.
  const std::string script = "SCRIPT", flush = "FLUSH";
  auto flushed = run_sync(io, [&]() { return cache->client().command(script, flush); });
  ASSERT_TRUE(flushed.ok());
  ASSERT_FALSE(flushed->is_error()) << flushed->text;
  const auto again = run_sync(io, [&]() { return cache->atomics().rate_limit(p + "rl", limit); });
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->allowed);
  EXPECT_EQ(again->remaining, 98);
}

TEST(RedisAtomics, WrongTypeIsAnError) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  auto cache = open(url);
  const std::string p = prefix();
  run_sync(io, [&]() -> Awaitable<bool> {
    co_await cache->set(p + "text", "not a number", std::chrono::milliseconds(0));
    co_return true;
  });
  const auto inc = run_sync(io, [&]() {
    return cache->atomics().increment(p + "text", 1, std::chrono::milliseconds(0));
  });
  EXPECT_FALSE(inc.ok());
  const auto value = run_sync(io, [&]() { return cache->atomics().counter(p + "text"); });
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error().code, Errc::conflict);
}

}  // namespace
}  // namespace stoa::cache
