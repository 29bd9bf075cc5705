#pragma once
// The atomic building blocks (atomics.h) within one process, for the in-process cache.
// One mutex guards them: each call is a few map operations. Expiry (locks, counters, windows,
// limiter state) follows `clock`'s steady time, which must outlive this object.
#include <chrono>
#include <memory>

#include "data/cache/atomics.h"
#include "runtime/clock.h"

namespace stoa::cache {

class MemoryAtomics final : public Atomics {
 public:
  explicit MemoryAtomics(const Clock& clock = Clock::real());
  ~MemoryAtomics() override;

  Awaitable<Result<RateDecision>> rate_limit(std::string key, RateLimit limit,
                                             std::int64_t cost) override;
  Awaitable<Result<bool>> try_lock(std::string key, std::string owner,
                                   std::chrono::milliseconds ttl) override;
  Awaitable<Result<bool>> unlock(std::string key, std::string owner) override;
  Awaitable<Result<bool>> extend_lock(std::string key, std::string owner,
                                      std::chrono::milliseconds ttl) override;
  Awaitable<Result<std::int64_t>> increment(std::string key, std::int64_t delta,
                                            std::chrono::milliseconds ttl) override;
  Awaitable<Result<std::int64_t>> counter(std::string key) override;
  Awaitable<Result<WindowCount>> count_in_window(std::string key, std::int64_t delta,
                                                 std::chrono::milliseconds ttl,
                                                 std::chrono::milliseconds at_least) override;

  // Synchronous forms (the coroutines call these).
  Result<RateDecision> rate_limit_now(const std::string& key, RateLimit limit, std::int64_t cost);
  bool try_lock_now(const std::string& key, const std::string& owner,
                    std::chrono::milliseconds ttl);
  bool unlock_now(const std::string& key, const std::string& owner);
  bool extend_lock_now(const std::string& key, const std::string& owner,
                       std::chrono::milliseconds ttl);
  std::int64_t increment_now(const std::string& key, std::int64_t delta,
                             std::chrono::milliseconds ttl);
  std::int64_t counter_now(const std::string& key);
  WindowCount count_in_window_now(const std::string& key, std::int64_t delta,
                                  std::chrono::milliseconds ttl,
                                  std::chrono::milliseconds at_least);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace stoa::cache
