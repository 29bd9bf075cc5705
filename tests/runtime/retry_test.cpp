// The retry policy: delays, the cap, jitter bounds, max attempts, the deadline and the budget,
// all without sleeping (the jitter's random source is a seed).
#include "runtime/retry.h"

#include <gtest/gtest.h>

#include <vector>

namespace stoa {
namespace {

using std::chrono::milliseconds;

RetryPolicy doubling(milliseconds initial, milliseconds cap) {
  RetryPolicy policy;
  policy.initial_delay = initial;
  policy.max_delay = cap;
  return policy;
}

TEST(RetryPolicy, DoublesFromTheInitialDelayUpToTheCap) {
  const RetryPolicy policy = doubling(milliseconds(100), milliseconds(2'000));
  EXPECT_EQ(policy.base_delay(0), milliseconds(100));  // counts as the first retry
  EXPECT_EQ(policy.base_delay(1), milliseconds(100));
  EXPECT_EQ(policy.base_delay(2), milliseconds(200));
  EXPECT_EQ(policy.base_delay(5), milliseconds(1'600));
  EXPECT_EQ(policy.base_delay(6), milliseconds(2'000));
  EXPECT_EQ(policy.base_delay(4'000'000'000u), milliseconds(2'000));  // no overflow
}

TEST(RetryPolicy, OtherMultipliersAndAnInitialDelayAboveTheCap) {
  RetryPolicy policy = doubling(milliseconds(10), milliseconds(1'000));
  policy.multiplier = 3;
  EXPECT_EQ(policy.base_delay(3), milliseconds(90));
  EXPECT_EQ(policy.base_delay(6), milliseconds(1'000));
  EXPECT_EQ(doubling(milliseconds(500), milliseconds(100)).base_delay(1), milliseconds(100));
}

TEST(Backoff, WithoutJitterGivesTheBaseDelaysAndStartsAgainAfterReset) {
  Backoff backoff(doubling(milliseconds(100), milliseconds(500)));
  std::vector<milliseconds> delays;
  for (int i = 0; i < 5; ++i) delays.push_back(*backoff.next_delay());
  EXPECT_EQ(delays,
            (std::vector<milliseconds>{milliseconds(100), milliseconds(200), milliseconds(400),
                                       milliseconds(500), milliseconds(500)}));
  EXPECT_EQ(backoff.retries(), 5u);
  backoff.reset();
  EXPECT_EQ(backoff.retries(), 0u);
  EXPECT_EQ(*backoff.next_delay(), milliseconds(100));
}

TEST(Backoff, MaxAttemptsCountsTheFirstTry) {
  RetryPolicy policy = doubling(milliseconds(1), milliseconds(10));
  policy.max_attempts = 3;
  Backoff backoff(policy);
  EXPECT_TRUE(backoff.next_delay());   // after try 1
  EXPECT_TRUE(backoff.next_delay());   // after try 2
  EXPECT_FALSE(backoff.next_delay());  // after try 3: no fourth
  EXPECT_FALSE(backoff.next_delay());
  EXPECT_EQ(backoff.retries(), 2u);
  policy.max_attempts = 1;
  EXPECT_FALSE(Backoff(policy).next_delay());
}

TEST(Backoff, NoRetryStartsAfterTheDeadline) {
  RetryPolicy policy = doubling(milliseconds(100), milliseconds(1'000));
  policy.deadline = milliseconds(1'000);
  Backoff backoff(policy);
  EXPECT_EQ(backoff.next_delay(milliseconds(0)), milliseconds(100));
  EXPECT_EQ(backoff.next_delay(milliseconds(500)), milliseconds(200));
  // 900 + 400 would start the retry past the deadline.
  EXPECT_FALSE(backoff.next_delay(milliseconds(900)));
  EXPECT_EQ(backoff.retries(), 2u);
}

TEST(Backoff, FullJitterStaysWithinZeroAndTheBaseDelay) {
  RetryPolicy policy = doubling(milliseconds(100), milliseconds(800));
  policy.jitter = Jitter::full;
  Backoff backoff(policy, 42);
  bool below_half = false;
  for (std::uint32_t retry = 1; retry <= 200; ++retry) {
    const milliseconds delay = *backoff.next_delay();
    EXPECT_GE(delay.count(), 0);
    EXPECT_LE(delay, policy.base_delay(retry));
    below_half = below_half || delay < policy.base_delay(retry) / 2;
  }
  EXPECT_TRUE(below_half) << "full jitter spreads over the whole range";
}

TEST(Backoff, ProportionalJitterStaysWithinTheSpread) {
  RetryPolicy policy = doubling(milliseconds(1'000), milliseconds(1'000));
  policy.jitter = Jitter::proportional;
  policy.spread = 0.5;
  Backoff backoff(policy, 7);
  milliseconds low = milliseconds::max(), high = milliseconds::min();
  for (int i = 0; i < 500; ++i) {
    const milliseconds delay = *backoff.next_delay();
    low = std::min(low, delay);
    high = std::max(high, delay);
  }
  EXPECT_GE(low, milliseconds(500));
  EXPECT_LE(high, milliseconds(1'500));
  EXPECT_LT(low, milliseconds(700));
  EXPECT_GT(high, milliseconds(1'300));
}

TEST(Backoff, DecorrelatedJitterGrowsFromTheLastDelayUnderTheCap) {
  RetryPolicy policy = doubling(milliseconds(100), milliseconds(5'000));
  policy.jitter = Jitter::decorrelated;
  Backoff backoff(policy, 3);
  milliseconds previous = policy.initial_delay;
  for (int i = 0; i < 200; ++i) {
    const milliseconds delay = *backoff.next_delay();
    EXPECT_GE(delay, policy.initial_delay);
    EXPECT_LE(delay, std::min(policy.max_delay, previous * 3));
    previous = delay;
  }
}

TEST(Backoff, TheSameSeedGivesTheSameDelays) {
  RetryPolicy policy = doubling(milliseconds(100), milliseconds(10'000));
  policy.jitter = Jitter::full;
  Backoff a(policy, 99), b(policy, 99), c(policy, 100);
  bool differs = false;
  for (int i = 0; i < 20; ++i) {
    const auto delay = a.next_delay();
    EXPECT_EQ(delay, b.next_delay());
    differs = differs || delay != c.next_delay();
  }
  EXPECT_TRUE(differs);
}

TEST(RetryBudget, StartsAtTheReserveAndRefillsAShareOfRequests) {
  RetryBudget budget(0.2, 3);
  EXPECT_TRUE(budget.try_spend());
  EXPECT_TRUE(budget.try_spend());
  EXPECT_TRUE(budget.try_spend());
  EXPECT_FALSE(budget.try_spend());
  for (int i = 0; i < 4; ++i) budget.record_request();
  EXPECT_FALSE(budget.try_spend()) << "four requests earn 0.8 of a retry";
  budget.record_request();
  EXPECT_TRUE(budget.try_spend());
  for (int i = 0; i < 1000; ++i) budget.record_request();
  EXPECT_DOUBLE_EQ(budget.balance(), 3) << "the balance never exceeds the reserve";
}

TEST(RetryBudget, ABackoffStopsWhenTheBudgetIsSpent) {
  RetryBudget budget(0.5, 2);
  Backoff first(doubling(milliseconds(1), milliseconds(10)), 0, &budget);
  Backoff second(doubling(milliseconds(1), milliseconds(10)), 0, &budget);
  EXPECT_TRUE(first.next_delay());
  EXPECT_TRUE(second.next_delay());
  EXPECT_FALSE(first.next_delay());
  EXPECT_FALSE(second.next_delay());
  budget.record_request();
  budget.record_request();
  EXPECT_TRUE(first.next_delay());
  EXPECT_EQ(first.retries(), 2u);
}

}  // namespace
}  // namespace stoa
