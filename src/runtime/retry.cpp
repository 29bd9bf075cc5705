#include "runtime/retry.h"

#include <algorithm>
#include <random>

namespace stoa {

namespace {

using std::chrono::milliseconds;

milliseconds to_ms(double ms) {
  return milliseconds(static_cast<milliseconds::rep>(ms));
}

}  // namespace

milliseconds RetryPolicy::base_delay(std::uint32_t retry) const {
  // Multiplied step by step and stopped at the cap: exact for integral multipliers (the
  // delays adapters documented as "doubling") and never overflowing for large `retry`.
  const double cap = static_cast<double>(max_delay.count());
  double delay = static_cast<double>(initial_delay.count());
  for (std::uint32_t i = 1; i < retry && delay < cap; ++i) delay *= multiplier;
  return to_ms(std::min(delay, cap));
}

RetryBudget::RetryBudget(double ratio, double reserve)
    : ratio_(ratio), reserve_(reserve), balance_(reserve) {}

void RetryBudget::record_request() {
  std::lock_guard lock(mutex_);
  balance_ = std::min(reserve_, balance_ + ratio_);
}

bool RetryBudget::try_spend() {
  std::lock_guard lock(mutex_);
  if (balance_ < 1) return false;
  balance_ -= 1;
  return true;
}

double RetryBudget::balance() const {
  std::lock_guard lock(mutex_);
  return balance_;
}

Backoff::Backoff(RetryPolicy policy, std::uint64_t seed, RetryBudget* budget)
    : policy_(policy), state_(seed), budget_(budget) {}

double Backoff::uniform(double low, double high) {
  // SplitMix64: a few bytes of state, so Backoff stays a cheap value, and the same sequence
  // for a seed on every platform (std:: distributions are not specified bit for bit).
  state_ += 0x9e3779b97f4a7c15ull;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const double unit = static_cast<double>(z >> 11) * 0x1.0p-53;  // [0, 1)
  return low + (high - low) * unit;
}

std::optional<milliseconds> Backoff::next_delay(milliseconds elapsed) {
  const std::uint32_t retry = retries_ + 1;
  // Tries in all so far: the first plus the retries made.
  if (policy_.max_attempts != 0 && retry >= policy_.max_attempts) return std::nullopt;
  const milliseconds base = policy_.base_delay(retry);
  milliseconds delay = base;
  switch (policy_.jitter) {
    case Jitter::none:
      break;
    case Jitter::full:
      delay = to_ms(uniform(0, static_cast<double>(base.count()) + 1));
      break;
    case Jitter::decorrelated: {
      const double low = static_cast<double>(policy_.initial_delay.count());
      // The first retry grows from initial_delay, as AWS's "sleep = base" start.
      const double last = previous_.count() > 0 ? static_cast<double>(previous_.count()) : low;
      const double high = std::max(low, 3.0 * last);
      delay = std::min(policy_.max_delay, to_ms(uniform(low, high + 1)));
      break;
    }
    case Jitter::proportional:
      delay = to_ms(static_cast<double>(base.count()) *
                    uniform(1 - policy_.spread, 1 + policy_.spread));
      break;
  }
  if (policy_.deadline.count() > 0 && elapsed + delay >= policy_.deadline) return std::nullopt;
  if (budget_ != nullptr && !budget_->try_spend()) return std::nullopt;
  retries_ = retry;
  previous_ = delay;
  return delay;
}

void Backoff::reset() {
  retries_ = 0;
  previous_ = milliseconds(0);
}

std::uint64_t random_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace stoa
