// The rate limiter, lock and counters of the in-process cache: the same checks as on Redis,
// with time moved by a ManualClock instead of slept through.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <thread>
#include <vector>

#include "data/cache/atomics_checks.h"
#include "data/cache/memory_cache.h"
#include "runtime/clock.h"

namespace stoa::cache {
namespace {

using namespace std::chrono_literals;

// A cache on a clock the test moves.
struct ManualCache {
  ManualClock clock;
  MemoryCache cache{MemoryCache::Options{.max_bytes = 1 << 20, .shards = 2, .clock = &clock}};
  testing::PassTime pass() {
    return [this](std::chrono::milliseconds d) { clock.advance(d); };
  }
};

TEST(MemoryAtomics, RateLimiter) {
  boost::asio::io_context io;
  ManualCache m;
  testing::check_rate_limiter(io, m.cache.atomics(), "p:", m.pass());
}

TEST(MemoryAtomics, Lock) {
  boost::asio::io_context io;
  ManualCache m;
  testing::check_lock(io, m.cache.atomics(), "p:", m.pass());
}

TEST(MemoryAtomics, Counter) {
  boost::asio::io_context io;
  ManualCache m;
  testing::check_counter(io, m.cache.atomics(), "p:", m.pass());
}

TEST(MemoryAtomics, WindowCounter) {
  boost::asio::io_context io;
  ManualCache m;
  testing::check_window_counter(io, m.cache.atomics(), "p:", m.pass());
}

// On the real clock too: the process default (one check is enough, the others sleep).
TEST(MemoryAtomics, CounterOnTheRealClock) {
  boost::asio::io_context io;
  MemoryCache cache;
  testing::check_counter(io, cache.atomics(), "p:");
}

// Exactly at its TTL a lock is gone, a moment before it is not; an extension counts from the
// time it was made.
TEST(MemoryAtomics, ALockExpiresAtItsTtlUnlessExtended) {
  ManualClock clock;
  MemoryAtomics a(clock);
  ASSERT_TRUE(a.try_lock_now("job", "alice", 10s));
  clock.advance(10s - 1ms);
  EXPECT_FALSE(a.try_lock_now("job", "bob", 10s));
  clock.advance(1ms);
  EXPECT_TRUE(a.try_lock_now("job", "bob", 10s)) << "alice's lock expired";
  EXPECT_FALSE(a.unlock_now("job", "alice"));
  clock.advance(9s);
  ASSERT_TRUE(a.extend_lock_now("job", "bob", 10s));
  clock.advance(9s);
  EXPECT_FALSE(a.try_lock_now("job", "alice", 10s)) << "bob extended it";
  clock.advance(1s);
  EXPECT_TRUE(a.try_lock_now("job", "alice", 10s));
  EXPECT_FALSE(a.extend_lock_now("job", "bob", 10s)) << "bob's lock has expired";
}

// A window's remaining time is exact, and it ends when it says.
TEST(MemoryAtomics, AWindowEndsWhenItsRemainingTimeRunsOut) {
  ManualClock clock;
  MemoryAtomics a(clock);
  EXPECT_EQ(a.count_in_window_now("w", 1, 60s, {}).remaining, 60s);
  clock.advance(45s);
  const WindowCount later = a.count_in_window_now("w", 1, 60s, {});
  EXPECT_EQ(later.count, 2);
  EXPECT_EQ(later.remaining, 15s);
  // A floor holds it open past its TTL.
  EXPECT_EQ(a.count_in_window_now("w", 0, 60s, 30s).remaining, 30s);
  clock.advance(30s - 1ms);
  EXPECT_EQ(a.counter_now("w"), 2);
  clock.advance(1ms);
  EXPECT_EQ(a.counter_now("w"), 0);
  EXPECT_EQ(a.count_in_window_now("w", 1, 60s, {}).count, 1) << "a new window";
}

// GCRA: a denied caller is told exactly when to come back, and is allowed then.
TEST(MemoryAtomics, ARateLimitRefillsAfterTheRetryAfterItGave) {
  ManualClock clock;
  MemoryAtomics a(clock);
  const RateLimit limit{.rate = 10, .period = 1min, .burst = 2};
  ASSERT_TRUE(a.rate_limit_now("k", limit, 1)->allowed);
  ASSERT_TRUE(a.rate_limit_now("k", limit, 1)->allowed);
  const RateDecision denied = *a.rate_limit_now("k", limit, 1);
  ASSERT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retry_after, 6s);
  clock.advance(denied.retry_after - 1ms);
  EXPECT_FALSE(a.rate_limit_now("k", limit, 1)->allowed);
  clock.advance(1ms);
  EXPECT_TRUE(a.rate_limit_now("k", limit, 1)->allowed);
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
