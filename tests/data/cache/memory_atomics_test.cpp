// The rate limiter, lock and counters of the in-process cache: the same checks as on Redis.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "data/cache/atomics_checks.h"
#include "data/cache/memory_cache.h"

namespace stoa::cache {
namespace {

TEST(MemoryAtomics, RateLimiter) {
  boost::asio::io_context io;
  MemoryCache cache;
  testing::check_rate_limiter(io, cache.atomics(), "p:");
}

TEST(MemoryAtomics, Lock) {
  boost::asio::io_context io;
  MemoryCache cache;
  testing::check_lock(io, cache.atomics(), "p:");
}

TEST(MemoryAtomics, Counter) {
  boost::asio::io_context io;
  MemoryCache cache;
  testing::check_counter(io, cache.atomics(), "p:");
}

TEST(MemoryAtomics, CounterSaturatesInsteadOfOverflowing) {
  MemoryAtomics a;
  const auto max = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(a.increment_now("c", max, {}), max);
  EXPECT_EQ(a.increment_now("c", 1, {}), max);
}

TEST(MemoryAtomics, AbandonedKeysAreSwept) {
  // Many short-lived limiter keys: expired ones must not pile up (checked through behaviour:
  // a swept key starts afresh, a live one does not).
  MemoryAtomics a;
  const RateLimit limit{.rate = 1, .period = std::chrono::milliseconds(1), .burst = 1};
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(a.rate_limit_now("k" + std::to_string(i), limit, 1)->allowed);
  }
  const RateLimit hourly{.rate = 1, .period = std::chrono::hours(1), .burst = 1};
  EXPECT_TRUE(a.rate_limit_now("live", hourly, 1)->allowed);
  EXPECT_FALSE(a.rate_limit_now("live", hourly, 1)->allowed);
}

}  // namespace
}  // namespace stoa::cache
