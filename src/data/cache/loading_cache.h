#pragma once
// Read-through caching over any Cache, so the in-process cache and Redis behave the same:
//
//   cache::LoadingCache users(shared_cache(host), &host.telemetry());
//   auto user = co_await users.get_or_load("user:" + id, [id]() -> Awaitable<...> {
//     co_return co_await load_user_json(id);   // nullopt when there is no such user
//   }, {.ttl = 60s, .stale_ttl = 30s, .negative_ttl = 5s});
//
// - Single flight: concurrent misses for one key in this process, on any event-loop thread,
//   cause one load; the others wait for its result.
// - Stale-while-revalidate: for stale_ttl after ttl, a read returns the old value at once and
//   one background load refreshes it.
// - Negative caching: a loader's "not found" (nullopt) is remembered for negative_ttl.
// - A failed load (an Error) is returned to everyone waiting for it and never cached.
// - When the cache backend is unreachable, every read is a miss: the loader runs (the
//   database answers) and requests keep working.
//
// Entries written here carry a 9-byte header (kind and freshness time), so read such keys
// through get_or_load only.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "data/cache/cache.h"
#include "runtime/async.h"
#include "runtime/error.h"

namespace stoa {
struct TraceContext;
namespace obs {
class Telemetry;
}
}  // namespace stoa

namespace stoa::cache {

// Returns the value, nullopt when there is none (not found), or an Error.
using Loader = std::function<Awaitable<Result<std::optional<std::string>>>()>;

struct LoadOptions {
  std::chrono::milliseconds ttl{60'000};      // how long a loaded value is fresh
  std::chrono::milliseconds stale_ttl{0};     // served stale while refreshing, after ttl (0: off)
  std::chrono::milliseconds negative_ttl{0};  // how long "not found" is remembered (0: off)
  // With a parent, get_or_load records a span "cache get_or_load" under it.
  const TraceContext* trace = nullptr;
};

struct LoadingStats {
  std::uint64_t loads = 0;          // loader calls
  std::uint64_t load_errors = 0;    // loader calls that returned an Error
  std::uint64_t coalesced = 0;      // misses that waited for another caller's load
  std::uint64_t stale_served = 0;   // reads answered with a stale value
  std::uint64_t negative_hits = 0;  // reads answered by a cached "not found"
};

class LoadingCache {
 public:
  // Metrics (cache_loads_total{stoa_cache_backend,result}) and spans when telemetry is given;
  // it must outlive this object and its background refreshes.
  explicit LoadingCache(std::shared_ptr<Cache> cache, obs::Telemetry* telemetry = nullptr);
  ~LoadingCache();
  LoadingCache(const LoadingCache&) = delete;
  LoadingCache& operator=(const LoadingCache&) = delete;

  // The cached value of `key`, or what `loader` returns (then cached). With stale_ttl the
  // loader may run after this returned (a background refresh): it must own what it uses.
  Awaitable<Result<std::optional<std::string>>> get_or_load(std::string key, Loader loader,
                                                            LoadOptions options = {});
  // Forgets `key` (after a write to what it caches, once committed). A load of `key` in
  // flight in this process then does not store what it read, which may predate the write;
  // across processes sharing Redis, such a load elsewhere can store the old value for up to
  // its ttl (docs/data-cache.md).
  Awaitable<void> invalidate(std::string key);

  LoadingStats stats() const;
  Cache& cache();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace stoa::cache
