#include "data/cache/memory_cache.h"
#include "data/cache/zipf_trace.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <list>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "runtime/clock.h"
#include "support/run_sync.h"

namespace stoa::cache {
namespace {

using namespace std::chrono_literals;

TEST(MemoryCache, GetSetErase) {
  MemoryCache cache({.max_bytes = 1 << 20, .shards = 4});
  EXPECT_EQ(cache.get_now("a"), std::nullopt);
  EXPECT_TRUE(cache.set_now("a", "1"));
  EXPECT_EQ(cache.get_now("a"), "1");
  EXPECT_TRUE(cache.set_now("a", "22"));
  EXPECT_EQ(cache.get_now("a"), "22");
  EXPECT_TRUE(cache.erase_now("a"));
  EXPECT_FALSE(cache.erase_now("a"));
  EXPECT_EQ(cache.get_now("a"), std::nullopt);

  const Stats s = cache.stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes, 0u);
}

TEST(MemoryCache, TtlExpiry) {
  ManualClock clock;
  MemoryCache cache({.max_bytes = 1 << 20, .shards = 2, .clock = &clock});
  cache.set_now("short", "x", 50ms);
  cache.set_now("forever", "y");
  EXPECT_EQ(cache.get_now("short"), "x");
  clock.advance(49ms);
  EXPECT_EQ(cache.get_now("short"), "x");
  clock.advance(1ms);  // exactly its TTL: gone
  EXPECT_EQ(cache.get_now("short"), std::nullopt);
  clock.advance(24h);
  EXPECT_EQ(cache.get_now("forever"), "y");
  EXPECT_EQ(cache.stats().entries, 1u);  // the expired entry was removed when read
}

// Setting a key again starts its TTL again.
TEST(MemoryCache, SettingAgainRestartsTheTtl) {
  ManualClock clock;
  MemoryCache cache({.max_bytes = 1 << 20, .shards = 2, .clock = &clock});
  cache.set_now("k", "1", 10s);
  clock.advance(8s);
  cache.set_now("k", "2", 10s);
  clock.advance(8s);
  EXPECT_EQ(cache.get_now("k"), "2");
  clock.advance(2s);
  EXPECT_EQ(cache.get_now("k"), std::nullopt);
}

// On the process's real clock (the default) a TTL passes in real time.
TEST(MemoryCache, TtlExpiryOnTheRealClock) {
  MemoryCache cache({.max_bytes = 1 << 20, .shards = 2});
  cache.set_now("short", "x", 1ms);
  for (int i = 0; i < 1000 && cache.get_now("short"); ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(cache.get_now("short"), std::nullopt);
}

TEST(MemoryCache, ByteBoundNeverExceededAndEvictionsCounted) {
  const std::size_t max_bytes = 64 * 1024;
  MemoryCache cache({.max_bytes = max_bytes, .shards = 4});
  const std::string value(200, 'v');
  for (int i = 0; i < 10'000; ++i) {
    cache.set_now("key" + std::to_string(i), value);
    if (i % 7 == 0) cache.get_now("key" + std::to_string(i / 2));
    ASSERT_LE(cache.stats().bytes, max_bytes);
  }
  const Stats s = cache.stats();
  EXPECT_GT(s.evictions, 0u);
  EXPECT_GT(s.entries, 0u);
  EXPECT_EQ(s.entries + s.evictions, 10'000u);
  EXPECT_EQ(cache.get_now("key9999"), value);  // the newest entry survives
}

TEST(MemoryCache, OversizedValueRejected) {
  MemoryCache cache({.max_bytes = 16 * 1024, .shards = 4});  // 4 KiB per shard
  EXPECT_TRUE(cache.set_now("big", "small"));
  EXPECT_FALSE(cache.set_now("big", std::string(8 * 1024, 'x')));
  EXPECT_EQ(cache.get_now("big"), std::nullopt);  // the old value is not served stale
  EXPECT_EQ(cache.stats().bytes, 0u);
}

TEST(MemoryCache, BeatsLruOnZipfTrace) {
  constexpr int kKeys = 10'000;
  constexpr int kRequests = 200'000;
  constexpr std::size_t kValueSize = 100;
  const std::vector<std::string> trace = testing::zipf_trace(kKeys, kRequests, 0.99, 42);

  // About 5% of the key space by bytes.
  const std::size_t per_entry =
      std::string("key:5000").size() + kValueSize + MemoryCache::kEntryOverhead;
  const std::size_t budget = per_entry * kKeys / 20;

  const testing::HitRatios r = testing::compare_hit_ratios(trace, kValueSize, budget);
  std::printf("[zipf 0.99] S3-FIFO hit ratio %.4f, LRU hit ratio %.4f\n", r.memory, r.lru);
  EXPECT_GT(r.memory, r.lru);
  EXPECT_LE(r.memory_bytes, budget);
}

TEST(MemoryCache, ConcurrentSetGetStaysConsistent) {
  MemoryCache cache({.max_bytes = 256 * 1024, .shards = 16});
  constexpr int kThreads = 4;
  constexpr int kOps = 100'000;
  constexpr int kKeys = 5'000;
  std::atomic<int> bad{0};
  std::atomic<int> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::uniform_int_distribution<int> pick(0, kKeys - 1);
      for (int i = 0; i < kOps; ++i) {
        const std::string key = "k" + std::to_string(pick(rng));
        if (i % 2 == 0) {
          cache.set_now(key, key + "|" + std::to_string(t) + "|" + std::to_string(i),
                        (i % 10 == 0) ? 1ms : 0ms);
        } else if (auto v = cache.get_now(key)) {
          ++hits;
          if (v->rfind(key + "|", 0) != 0) ++bad;
        }
        if (i % 1000 == 999) cache.erase_now(key);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(hits.load(), 0);
  EXPECT_LE(cache.stats().bytes, 256u * 1024);
}

TEST(MemoryCache, AwaitablePath) {
  MemoryCache cache({.max_bytes = 1 << 20, .shards = 4});
  const auto values =
      ::stoa::test::run_sync([&]() -> Awaitable<std::vector<std::optional<std::string>>> {
        const std::string a = "a", b = "b", one = "1", two = "2";
        co_await cache.set(a, one, 0ms);
        co_await cache.set(b, two, 0ms);
        const bool erased = co_await cache.erase(b);
        EXPECT_TRUE(erased);
        const std::optional<std::string> got = co_await cache.get(a);
        EXPECT_TRUE(got.has_value() && *got == one);
        std::vector<std::string> keys{a, b, std::string("c")};
        co_return co_await cache.get_many(std::move(keys));
      });
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0], "1");
  EXPECT_EQ(values[1], std::nullopt);
  EXPECT_EQ(values[2], std::nullopt);
}

}  // namespace
}  // namespace stoa::cache
