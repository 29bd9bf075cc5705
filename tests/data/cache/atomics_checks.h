#pragma once
// The semantics of the atomic building blocks (atomics.h), checked the same way on every
// backend: memory_atomics_test.cpp and redis_atomics_redistest.cpp.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "data/cache/atomics.h"
#include "support/run_sync.h"

namespace stoa::cache::testing {

using namespace std::chrono_literals;
using ::stoa::test::run_sync;

inline void check_rate_limiter(boost::asio::io_context& io, Atomics& a, const std::string& p) {
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
  std::this_thread::sleep_for(1200ms);
  EXPECT_TRUE(run_sync(io, [&]() { return a.rate_limit(p + "rl-fast", fast); })->allowed);
}

inline void check_lock(boost::asio::io_context& io, Atomics& a, const std::string& p) {
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
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(lock(bob, 1s));
  EXPECT_TRUE(extend(bob, 10s));
  std::this_thread::sleep_for(1300ms);
  EXPECT_FALSE(lock(alice, 10s));
  EXPECT_TRUE(unlock(bob));
}

inline void check_counter(boost::asio::io_context& io, Atomics& a, const std::string& p) {
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
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(inc(p + "window", 1, 1s), 2);
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(value(p + "window"), 0);
  EXPECT_EQ(inc(p + "window", 1, 1s), 1);
}

}  // namespace stoa::cache::testing
