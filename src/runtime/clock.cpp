#include "runtime/clock.h"

#include <algorithm>

namespace stoa {

namespace {

class RealClock final : public Clock {
 public:
  constexpr RealClock() = default;
  std::chrono::system_clock::time_point system_now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};

// Constant-initialized: no guard on the accessor, and usable from other static initializers.
constinit const RealClock kRealClock;

}  // namespace

const Clock& Clock::real() {
  return kRealClock;
}

ManualClock::ManualClock()
    : ManualClock(std::chrono::system_clock::now(), std::chrono::steady_clock::now()) {}

ManualClock::ManualClock(std::chrono::system_clock::time_point system,
                         std::chrono::steady_clock::time_point steady)
    : system_(system), steady_(steady) {}

std::chrono::system_clock::time_point ManualClock::system_now() const {
  std::lock_guard lock(mutex_);
  return system_;
}

std::chrono::steady_clock::time_point ManualClock::steady_now() const {
  std::lock_guard lock(mutex_);
  return steady_;
}

void ManualClock::advance(std::chrono::nanoseconds by) {
  by = std::max(by, std::chrono::nanoseconds::zero());
  std::lock_guard lock(mutex_);
  system_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
  steady_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(by);
}

void ManualClock::set(std::chrono::system_clock::time_point system) {
  std::lock_guard lock(mutex_);
  system_ = system;
}

}  // namespace stoa
