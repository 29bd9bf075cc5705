#pragma once
// Atomic building blocks on the cache's backend, for the gateway and the services: a rate
// limiter (GCRA), a lock with an owner and a TTL, counters, and counters of a fixed window. With
// Redis they hold across every process that shares it (each is one command or one Lua script, so
// atomic there); with the in-process cache they hold within the process.
//
// When the backend is unreachable these return Errc::unavailable: the caller decides what
// that means (the gateway may fail open, a job may skip its run).
#include <chrono>
#include <cstdint>
#include <string>

#include "runtime/async.h"
#include "runtime/error.h"

namespace stoa::cache {

// GCRA: `rate` requests per `period` on average, with up to `burst` at once.
struct RateLimit {
  std::int64_t rate = 1;
  std::chrono::milliseconds period{1000};
  std::int64_t burst = 1;  // >= 1
};

struct RateDecision {
  bool allowed = false;
  std::int64_t remaining = 0;                // requests that would still be allowed right now
  std::chrono::milliseconds retry_after{0};  // when denied: wait this long before retrying
  std::chrono::milliseconds reset_after{0};  // until the limiter is back to a full burst
};

struct WindowCount {
  std::int64_t count = 0;                  // the counter after this call
  std::chrono::milliseconds remaining{0};  // until the window closes; 0 when it never does
};

class Atomics {
 public:
  virtual ~Atomics() = default;

  // Takes `cost` units from the limiter of `key` when it allows them. Errc::invalid_argument
  // for a limit with rate, period or burst below 1, or a cost below 1.
  virtual Awaitable<Result<RateDecision>> rate_limit(std::string key, RateLimit limit,
                                                     std::int64_t cost = 1) = 0;

  // Takes the lock `key` for `owner` (a token unique to the caller, e.g. a random id) for
  // `ttl` unless someone holds it. True when taken.
  virtual Awaitable<Result<bool>> try_lock(std::string key, std::string owner,
                                           std::chrono::milliseconds ttl) = 0;
  // Releases the lock when `owner` holds it; true when released.
  virtual Awaitable<Result<bool>> unlock(std::string key, std::string owner) = 0;
  // Sets the lock's TTL anew when `owner` holds it; true when extended.
  virtual Awaitable<Result<bool>> extend_lock(std::string key, std::string owner,
                                              std::chrono::milliseconds ttl) = 0;

  // Adds `delta` to the counter `key` (absent counts as 0) and returns the new value. A
  // counter created by this call expires after `ttl` (none when ttl <= 0), which makes
  // fixed windows: increment("logins:<user>:<minute>", 1, 60s).
  virtual Awaitable<Result<std::int64_t>> increment(std::string key, std::int64_t delta,
                                                    std::chrono::milliseconds ttl) = 0;
  // The counter's value; 0 when absent.
  virtual Awaitable<Result<std::int64_t>> counter(std::string key) = 0;

  // increment() that also tells how long the window still runs, and can hold it open: in one
  // atomic step, adds `delta` to the counter `key` and returns its value and remaining time.
  // A counter created by this call (only a positive delta creates one: a refund or a mere
  // extension of a window that has closed changes nothing) lives `ttl` (forever when
  // ttl <= 0); later calls never bring its end forward, and push it back to now + `at_least`
  // when that is later. So concurrent callers each see a distinct count and can decide on
  // it without racing: "at most N per window" is `count_in_window(key, 1, window).count <= N`.
  virtual Awaitable<Result<WindowCount>> count_in_window(
      std::string key, std::int64_t delta, std::chrono::milliseconds ttl,
      std::chrono::milliseconds at_least = std::chrono::milliseconds(0)) = 0;
};

// Validates a limit and cost (Errc::invalid_argument naming what is wrong).
Status check_rate_limit(const RateLimit& limit, std::int64_t cost);

}  // namespace stoa::cache
