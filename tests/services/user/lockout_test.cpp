// The login lockout on the in-process cache, with time moved by a ManualClock: a window that
// ends, a lock that grows with each refusal and a success that clears the account's count.
#include "services/user/lockout.h"

#include <gtest/gtest.h>

#include <memory>

#include "data/cache/memory_cache.h"
#include "runtime/clock.h"
#include "support/run_sync.h"

namespace stoa::user {
namespace {

using namespace std::chrono_literals;
using Wait = std::optional<std::chrono::milliseconds>;

class LockoutTest : public ::testing::Test {
 protected:
  static constexpr LockoutPolicy kAccount{
      .threshold = 3, .window = 15min, .base_delay = 1s, .max_delay = 1h};
  static constexpr LockoutPolicy kAddress{
      .threshold = 100, .window = 15min, .base_delay = 1s, .max_delay = 1h};

  Wait attempt(const std::string& account = "ada", const std::string& address = "192.0.2.1") {
    return test::run_sync([&]() { return lockout_.attempt(account, address); });
  }
  void succeeded(const std::string& account = "ada", const std::string& address = "192.0.2.1") {
    test::run_sync([&]() -> Awaitable<bool> {  // run_sync takes a task with a value
      co_await lockout_.succeeded(account, address);
      co_return true;
    });
  }

  ManualClock clock_;
  std::shared_ptr<cache::MemoryCache> cache_ = std::make_shared<cache::MemoryCache>(
      cache::MemoryCache::Options{.max_bytes = 1 << 20, .shards = 2, .clock = &clock_});
  Lockout lockout_{cache_, kAccount, kAddress};
};

TEST_F(LockoutTest, ALockoutWindowEnds) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(attempt(), std::nullopt) << "attempt " << i + 1;
  clock_.advance(5min);
  EXPECT_EQ(attempt(), Wait(10min)) << "refused until the window, opened 5 minutes ago, ends";
  clock_.advance(10min);
  EXPECT_EQ(attempt(), std::nullopt) << "a new window";
  EXPECT_EQ(attempt("grace"), std::nullopt) << "another account was never locked";
}

TEST_F(LockoutTest, EachRefusalHoldsTheLockLonger) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(attempt(), std::nullopt);
  clock_.advance(15min - 1s);  // the window has a second left
  EXPECT_EQ(attempt(), Wait(1s));
  EXPECT_EQ(attempt(), Wait(2s)) << "the second refusal holds it 2s from now";
  EXPECT_EQ(attempt(), Wait(4s));
  clock_.advance(4s);
  EXPECT_EQ(attempt(), std::nullopt);
}

TEST_F(LockoutTest, ASuccessClearsTheAccountsCount) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(attempt(), std::nullopt);
  succeeded();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(attempt(), std::nullopt) << "attempt " << i + 1;
  EXPECT_TRUE(attempt().has_value());
}

}  // namespace
}  // namespace stoa::user
