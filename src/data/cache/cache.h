#pragma once
// The cache interface every backend (in-process memory, Redis) implements. Values are bytes.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/cache/atomics.h"
#include "runtime/async.h"
#include "runtime/error.h"

namespace stoa::cache {

// Counters since the cache was created, plus the current size.
struct Stats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;
  std::uint64_t errors = 0;   // operations the backend could not do (Redis unreachable...)
  std::uint64_t bytes = 0;    // estimated memory held: keys + values + per-entry overhead
  std::uint64_t entries = 0;  // entries currently stored (expired ones may linger until touched)
};

// Coroutine methods take their key by value: an asynchronous backend holds it across
// suspension, so it must not refer to the caller's storage.
class Cache {
 public:
  virtual ~Cache() = default;

  // The value stored under key, or nullopt when absent or expired.
  virtual Awaitable<std::optional<std::string>> get(std::string key) = 0;
  // Stores value under key. A ttl of zero or less means the entry does not expire.
  virtual Awaitable<void> set(std::string key, std::string value,
                              std::chrono::milliseconds ttl) = 0;
  // Removes key; true when an entry was removed.
  virtual Awaitable<bool> erase(std::string key) = 0;
  // One result per key, in the order of keys.
  virtual Awaitable<std::vector<std::optional<std::string>>> get_many(
      std::vector<std::string> keys) = 0;

  virtual Stats stats() const = 0;

  // The backend's name for metrics and spans: "memory" or "redis".
  virtual const char* backend() const = 0;

  // As get, but an unreachable backend is an Error rather than a miss (get() turns errors
  // into misses and counts them). The in-process cache never fails.
  virtual Awaitable<Result<std::optional<std::string>>> try_get(std::string key) {
    co_return co_await get(std::move(key));
  }

  // Rate limiter, locks and counters on the same backend (atomics.h).
  virtual Atomics& atomics() = 0;
};

}  // namespace stoa::cache
