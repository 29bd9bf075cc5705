// The rate limiter, lock and counters of the in-process cache: the same checks as on Redis.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <thread>
#include <vector>

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

TEST(MemoryAtomics, WindowCounter) {
  boost::asio::io_context io;
  MemoryCache cache;
  testing::check_window_counter(io, cache.atomics(), "p:");
}

TEST(MemoryAtomics, WindowCounterAcrossThreads) {
  // The in-process cache serves every event-loop thread: counts taken on several threads at
  // once are still each distinct.
  MemoryAtomics a;
  std::vector<std::vector<std::int64_t>> seen(4);
  std::vector<std::thread> threads;
  for (auto& mine : seen) {
    threads.emplace_back([&a, &mine] {
      for (int i = 0; i < 250; ++i) {
        mine.push_back(a.count_in_window_now("w", 1, std::chrono::minutes(1), {}).count);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::int64_t> all;
  for (const auto& mine : seen) all.insert(all.end(), mine.begin(), mine.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], static_cast<std::int64_t>(i) + 1);
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
