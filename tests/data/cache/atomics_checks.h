#pragma once
// The semantics of the atomic building blocks (atomics.h), checked the same way on every
// backend: memory_atomics_test.cpp and redis_atomics_redistest.cpp. Time passes through
// `pass`: Redis keeps its own time, so its tests sleep; the in-process cache's tests move a
// ManualClock instead.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "data/cache/atomics.h"
#include "support/run_sync.h"

namespace stoa::cache::testing {

using namespace std::chrono_literals;
using ::stoa::test::run_sync;

// Lets `d` pass for the atomics under test.
using PassTime = std::function<void(std::chrono::milliseconds d)>;

inline void sleep_for(std::chrono::milliseconds d) {
  std::this_thread::sleep_for(d);
}

inline void check_rate_limiter(boost::asio::io_context& io, Atomics& a, const std::string& p,
                               const PassTime& pass = sleep_for) {
  const RateLimit hourly{.rate = 5, .period = 1h, .burst = 5};
  for (int i = 0; i < 5; ++i) {
    const auto d = run_sync(io, [&]() { return a.rate_limit(p + "rl", hourly); });
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_TRUE(d->allowed) << "request " << i;
    EXPECT_EQ(d->remaining, 4 - i);
  }
  const auto denied = run_sync(io, [&]() { return a.rate_limit(p + "rl", hourly); });
  ASSERT_TRUE(denied.ok());
  EXPECT_FALSE(denied->allowed);
  EXPECT_EQ(denied->remaining, 0);
  // One request is emitted every 12 minutes: the next is allowed within that.
  EXPECT_GT(denied->retry_after, 0ms);
  EXPECT_LE(denied->retry_after, std::chrono::milliseconds(12min));
  // Another key is independent; a cost takes several units.
  const auto other = run_sync(io, [&]() { return a.rate_limit(p + "rl-other", hourly, 3); });
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->allowed);
  EXPECT_EQ(other->remaining, 2);
  const auto too_costly = run_sync(io, [&]() { return a.rate_limit(p + "rl-other", hourly, 3); });
  ASSERT_TRUE(too_costly.ok());
  EXPECT_FALSE(too_costly->allowed);

  const auto bad = run_sync(io, [&]() { return a.rate_limit(p + "rl-bad", RateLimit{.rate = 0}); });
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  const auto bad_cost = run_sync(io, [&]() { return a.rate_limit(p + "rl-bad", hourly, 0); });
  ASSERT_FALSE(bad_cost.ok());
  EXPECT_EQ(bad_cost.error().code, Errc::invalid_argument);

  // The limiter refills: 1 per second, burst 1 (periods long enough for a loaded machine).
  const RateLimit fast{.rate = 1, .period = 1s, .burst = 1};
  ASSERT_TRUE(run_sync(io, [&]() { return a.rate_limit(p + "rl-fast", fast); })->allowed);
  ASSERT_FALSE(run_sync(io, [&]() { return a.rate_limit(p + "rl-fast", fast); })->allowed);
  pass(1200ms);
  EXPECT_TRUE(run_sync(io, [&]() { return a.rate_limit(p + "rl-fast", fast); })->allowed);
}

inline void check_lock(boost::asio::io_context& io, Atomics& a, const std::string& p,
                       const PassTime& pass = sleep_for) {
  const std::string key = p + "lock";
  const std::string alice = "alice", bob = "bob";
  auto lock = [&](const std::string& who, std::chrono::milliseconds ttl) {
    const auto r = run_sync(io, [&]() { return a.try_lock(key, who, ttl); });
    EXPECT_TRUE(r.ok());
    return r.ok() && r.value();
  };
  auto unlock = [&](const std::string& who) {
    const auto r = run_sync(io, [&]() { return a.unlock(key, who); });
    EXPECT_TRUE(r.ok());
    return r.ok() && r.value();
  };
  auto extend = [&](const std::string& who, std::chrono::milliseconds ttl) {
    const auto r = run_sync(io, [&]() { return a.extend_lock(key, who, ttl); });
    EXPECT_TRUE(r.ok());
    return r.ok() && r.value();
  };
  EXPECT_TRUE(lock(alice, 10s));
  EXPECT_FALSE(lock(bob, 10s));
  EXPECT_FALSE(lock(alice, 10s));  // not re-entrant
  EXPECT_FALSE(unlock(bob));       // only the owner releases
  EXPECT_FALSE(extend(bob, 10s));  // only the owner extends
  EXPECT_TRUE(extend(alice, 10s));
  EXPECT_TRUE(unlock(alice));
  EXPECT_FALSE(unlock(alice));
  EXPECT_TRUE(lock(bob, 10s));
  EXPECT_TRUE(unlock(bob));

  // A lock expires with its TTL, unless its owner extends it.
  EXPECT_TRUE(lock(alice, 100ms));
  pass(300ms);
  EXPECT_TRUE(lock(bob, 1s));
  EXPECT_TRUE(extend(bob, 10s));
  pass(1300ms);
  EXPECT_FALSE(lock(alice, 10s));
  EXPECT_TRUE(unlock(bob));
}

inline void check_counter(boost::asio::io_context& io, Atomics& a, const std::string& p,
                          const PassTime& pass = sleep_for) {
  auto inc = [&](const std::string& key, std::int64_t delta, std::chrono::milliseconds ttl) {
    const auto r = run_sync(io, [&]() { return a.increment(key, delta, ttl); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : -999;
  };
  auto value = [&](const std::string& key) {
    const auto r = run_sync(io, [&]() { return a.counter(key); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : -999;
  };
  EXPECT_EQ(value(p + "c"), 0);
  EXPECT_EQ(inc(p + "c", 1, 0ms), 1);
  EXPECT_EQ(inc(p + "c", 1, 0ms), 2);
  EXPECT_EQ(inc(p + "c", 5, 0ms), 7);
  EXPECT_EQ(inc(p + "c", -10, 0ms), -3);
  EXPECT_EQ(value(p + "c"), -3);

  // A fixed window: the TTL is set when the counter is created and not pushed back later.
  EXPECT_EQ(inc(p + "window", 1, 1s), 1);
  pass(300ms);
  EXPECT_EQ(inc(p + "window", 1, 1s), 2);
  pass(1s);
  EXPECT_EQ(value(p + "window"), 0);
  EXPECT_EQ(inc(p + "window", 1, 1s), 1);
}

inline void check_window_counter(boost::asio::io_context& io, Atomics& a, const std::string& p,
                                 const PassTime& pass = sleep_for) {
  auto count = [&](const std::string& key, std::int64_t delta, std::chrono::milliseconds ttl,
                   std::chrono::milliseconds at_least = 0ms) {
    const auto r = run_sync(io, [&]() { return a.count_in_window(key, delta, ttl, at_least); });
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : WindowCount{.count = -999};
  };
  // The first count opens the window; later ones see it close no later than it would have.
  const WindowCount first = count(p + "w", 1, 10s);
  EXPECT_EQ(first.count, 1);
  EXPECT_GT(first.remaining, 0ms);
  EXPECT_LE(first.remaining, 10s);
  pass(100ms);
  const WindowCount second = count(p + "w", 1, 10s);
  EXPECT_EQ(second.count, 2);
  EXPECT_LE(second.remaining, first.remaining);
  // It shares its counter with increment() and counter().
  EXPECT_EQ(run_sync(io, [&]() { return a.counter(p + "w"); }).value(), 2);
  // A floor pushes the end back, never forward.
  const WindowCount held = count(p + "w", 1, 10s, 60s);
  EXPECT_EQ(held.count, 3);
  EXPECT_GT(held.remaining, 10s);
  EXPECT_LE(held.remaining, 60s);
  const WindowCount not_shortened = count(p + "w", 0, 10s, 1s);
  EXPECT_EQ(not_shortened.count, 3);
  EXPECT_GT(not_shortened.remaining, 10s);
  // A refund or an extension does not bring a closed window back, nor leave a debt.
  const WindowCount refund = count(p + "absent", -1, 10s);
  EXPECT_EQ(refund.count, 0);
  EXPECT_EQ(refund.remaining, 0ms);
  EXPECT_EQ(count(p + "absent", 0, 10s, 60s).count, 0);
  EXPECT_EQ(run_sync(io, [&]() { return a.counter(p + "absent"); }).value(), 0);
  EXPECT_EQ(count(p + "absent", 1, 10s).count, 1);
  // No TTL: the window never closes.
  const WindowCount forever = count(p + "forever", 1, 0ms);
  EXPECT_EQ(forever.count, 1);
  EXPECT_EQ(forever.remaining, 0ms);

  // The window closes (TTL set at the first count) and the next count opens a new one.
  EXPECT_EQ(count(p + "short", 1, 300ms).count, 1);
  pass(500ms);
  EXPECT_EQ(count(p + "short", 1, 300ms).count, 1);

  // Many callers at once each see a count of their own: exactly `limit` of them are at or
  // below it, whatever the interleaving.
  std::vector<std::future<Result<WindowCount>>> calls;
  for (int i = 0; i < 200; ++i) {
    calls.push_back(::stoa::test::spawn_future(
        io, [&a, key = p + "burst"]() { return a.count_in_window(key, 1, 60s); }));
  }
  // Runs the context until every call is done (a Redis client keeps work pending on its
  // connections, so io.run() alone would not return).
  io.restart();
  for (auto& call : calls) {
    while (call.wait_for(0s) != std::future_status::ready) io.run_one_for(100ms);
  }
  std::vector<std::int64_t> seen;
  for (auto& call : calls) {
    auto r = call.get();
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_GT(r->remaining, 0ms);
    seen.push_back(r->count);
  }
  std::sort(seen.begin(), seen.end());
  for (std::int64_t i = 0; i < 200; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i + 1);
}

}  // namespace stoa::cache::testing
