#include "data/cache/loading_cache.h"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "observability/telemetry.h"

namespace stoa::cache {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using LoadResult = Result<std::optional<std::string>>;
using Handler = asio::any_completion_handler<void(LoadResult)>;

// A caller waiting for another's load, resumed on its own executor.
struct Waiter {
  asio::any_io_executor executor;
  Handler handler;
};

namespace {

// An entry as stored: kind ('V' value, 'N' not found), fresh-until as milliseconds since the
// Unix epoch (8 bytes, little-endian; wall-clock so that processes sharing Redis agree), then
// the value.
constexpr char kValue = 'V';
constexpr char kNotFound = 'N';
constexpr std::size_t kHeader = 9;
// Loads of one flight when writes keep invalidating it (load_and_store).
constexpr int kMaxLoadAttempts = 3;

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string wrap(char kind, std::int64_t fresh_until, std::string_view value) {
  std::string out;
  out.reserve(kHeader + value.size());
  out += kind;
  for (int i = 0; i < 8; ++i) {
    out += static_cast<char>((static_cast<std::uint64_t>(fresh_until) >> (8 * i)) & 0xff);
  }
  out.append(value);
  return out;
}

struct Unwrapped {
  char kind = 0;
  std::int64_t fresh_until = 0;
};

// False when `stored` is not an entry written here (then it counts as a miss).
bool unwrap(std::string& stored, Unwrapped& out) {
  if (stored.size() < kHeader || (stored[0] != kValue && stored[0] != kNotFound)) return false;
  out.kind = stored[0];
  std::uint64_t t = 0;
  for (int i = 0; i < 8; ++i)
    t |= static_cast<std::uint64_t>(static_cast<unsigned char>(stored[1 + i])) << (8 * i);
  out.fresh_until = static_cast<std::int64_t>(t);
  stored.erase(0, kHeader);
  return true;
}

}  // namespace

struct LoadingCache::State : std::enable_shared_from_this<State> {
  struct Flight {
    std::vector<Waiter> waiters;
    // invalidate() ran while the load was in flight: what it read may predate the write
    // that invalidated, so the leader loads again before anyone gets it.
    bool invalidated = false;
  };

  // Marks the flight for `key`, if any, as invalidated.
  void invalidate_flight(const std::string& key) {
    std::lock_guard lock(mutex);
    auto it = flights.find(key);
    if (it != flights.end()) it->second.invalidated = true;
  }

  // Whether the flight was invalidated since the last call; clears the mark.
  bool take_invalidation(const std::string& key) {
    std::lock_guard lock(mutex);
    auto it = flights.find(key);
    return it != flights.end() && std::exchange(it->second.invalidated, false);
  }

  State(std::shared_ptr<Cache> c, obs::Telemetry* t) : cache(std::move(c)), telemetry(t) {
    if (telemetry != nullptr) {
      const std::string backend = cache->backend();
      auto loads = [&](const char* result) {
        return telemetry->metrics().counter("cache_loads_total",
                                            "Loads run by get_or_load after a cache miss.",
                                            {{"stoa_cache_backend", backend}, {"result", result}});
      };
      loads_ok = loads("ok");
      loads_not_found = loads("not_found");
      loads_error = loads("error");
    }
  }

  // Joins the flight for `key` when there is one (returns true and fills `result` when it
  // ends); otherwise becomes its leader (returns false).
  Awaitable<bool> join(const std::string& key, std::optional<LoadResult>& result) {
    // The lock is held until the waiter is registered (released in the initiation), so the
    // leader cannot finish in between.
    auto executor = co_await asio::this_coro::executor;
    std::unique_lock lock(mutex);
    auto it = flights.find(key);
    if (it == flights.end()) {
      flights.emplace(key, Flight{});
      co_return false;
    }
    coalesced.fetch_add(1, std::memory_order_relaxed);
    Flight& flight = it->second;
    result.emplace(co_await asio::async_initiate<decltype(asio::use_awaitable), void(LoadResult)>(
        [&flight, &lock, &executor](auto handler) {
          flight.waiters.push_back(Waiter{executor, Handler(std::move(handler))});
          lock.unlock();
        },
        asio::use_awaitable));
    co_return true;
  }

  // Ends the flight for `key`, handing `result` to everyone who waited.
  void finish(const std::string& key, const LoadResult& result) {
    std::vector<Waiter> waiters;
    {
      std::lock_guard lock(mutex);
      auto it = flights.find(key);
      if (it == flights.end()) return;
      waiters = std::move(it->second.waiters);
      flights.erase(it);
    }
    for (Waiter& w : waiters) asio::post(w.executor, asio::append(std::move(w.handler), result));
  }

  // A background refresh: loads, stores, and ends the flight.
  Awaitable<void> refresh(std::string key, Loader loader, LoadOptions options) {
    auto self = shared_from_this();
    options.trace = nullptr;  // the caller's context is gone by now
    LoadResult result = co_await load_and_store(key, loader, options);
    finish(key, result);
  }

  Awaitable<LoadResult> load_and_store(const std::string& key, const Loader& loader,
                                       const LoadOptions& options) {
    std::optional<LoadResult> loaded;
    // A load invalidated while it ran is run again (a few times at most, under a stream of
    // writes), so that no caller gets, and the cache never keeps, what predates a write.
    bool stale = true;
    for (int attempt = 0; attempt < kMaxLoadAttempts && stale; ++attempt) {
      (void)take_invalidation(key);
      loads.fetch_add(1, std::memory_order_relaxed);
      loaded.reset();
      try {
        loaded.emplace(co_await loader());
      } catch (const std::exception& e) {
        loaded.emplace(Error{Errc::internal, std::string("the loader threw: ") + e.what()});
      }
      stale = take_invalidation(key);
    }
    LoadResult& r = *loaded;
    if (!r.ok()) {
      load_errors.fetch_add(1, std::memory_order_relaxed);
      loads_error.inc();
      co_return r;
    }
    if (stale) co_return r;  // still being written: answer, but do not cache
    if (r.value()) {
      loads_ok.inc();
      co_await cache->set(key, wrap(kValue, now_ms() + options.ttl.count(), *r.value()),
                          options.ttl + std::max(options.stale_ttl, milliseconds(0)));
    } else {
      loads_not_found.inc();
      if (options.negative_ttl.count() > 0) {
        co_await cache->set(key, wrap(kNotFound, now_ms() + options.negative_ttl.count(), {}),
                            options.negative_ttl);
      }
    }
    co_return r;
  }

  // Reads the cache; a stored entry becomes the answer (fresh or stale), with `stale` set
  // when it is past its freshness.
  Awaitable<std::optional<LoadResult>> lookup(const std::string& key, bool& stale) {
    LoadResult got = co_await cache->try_get(key);
    if (!got.ok() || !got.value()) co_return std::nullopt;
    std::string stored = std::move(*got.value());
    Unwrapped u;
    if (!unwrap(stored, u)) co_return std::nullopt;
    stale = u.fresh_until <= now_ms();
    if (u.kind == kNotFound) {
      if (stale) co_return std::nullopt;  // negative entries are never served stale
      negative_hits.fetch_add(1, std::memory_order_relaxed);
      co_return LoadResult(std::optional<std::string>());
    }
    co_return LoadResult(std::optional<std::string>(std::move(stored)));
  }

  std::shared_ptr<Cache> cache;
  obs::Telemetry* telemetry;
  obs::Counter loads_ok, loads_not_found, loads_error;
  std::mutex mutex;
  std::unordered_map<std::string, Flight> flights;
  std::atomic<std::uint64_t> loads{0};
  std::atomic<std::uint64_t> load_errors{0};
  std::atomic<std::uint64_t> coalesced{0};
  std::atomic<std::uint64_t> stale_served{0};
  std::atomic<std::uint64_t> negative_hits{0};
};

LoadingCache::LoadingCache(std::shared_ptr<Cache> cache, obs::Telemetry* telemetry)
    : state_(std::make_shared<State>(std::move(cache), telemetry)) {}

LoadingCache::~LoadingCache() = default;

Cache& LoadingCache::cache() {
  return *state_->cache;
}

Awaitable<Result<std::optional<std::string>>> LoadingCache::get_or_load(std::string key,
                                                                        Loader loader,
                                                                        LoadOptions options) {
  std::shared_ptr<State> state = state_;
  std::optional<obs::Span> span;
  if (options.trace != nullptr && state->telemetry != nullptr) {
    span.emplace(state->telemetry->tracer(), *options.trace, "cache get_or_load",
                 obs::SpanKind::internal);
    span->set_attribute("stoa.cache.backend", std::string(state->cache->backend()));
  }
  auto outcome = [&span](const char* what) {
    if (span) span->set_attribute("stoa.cache.result", std::string(what));
  };

  bool stale = false;
  std::optional<LoadResult> cached = co_await state->lookup(key, stale);
  if (cached && !stale) {
    outcome("hit");
    co_return std::move(*cached);
  }
  if (cached && stale) {
    // Serve the stale value; one background load refreshes it unless one is running.
    state->stale_served.fetch_add(1, std::memory_order_relaxed);
    bool lead = false;
    {
      std::lock_guard lock(state->mutex);
      lead = state->flights.emplace(key, State::Flight{}).second;
    }
    if (lead) {
      auto executor = co_await asio::this_coro::executor;
      asio::co_spawn(executor, state->refresh(key, std::move(loader), options), asio::detached);
    }
    outcome("stale");
    co_return std::move(*cached);
  }

  std::optional<LoadResult> joined;
  const bool waited = co_await state->join(key, joined);
  if (waited) {
    outcome("coalesced");
    if (span && !joined->ok()) span->set_error(joined->error().message);
    co_return std::move(*joined);
  }
  // Leader. A flight for this key may have ended between our read and now: read again, so
  // that its result is used rather than loaded twice.
  bool stale_again = false;
  std::optional<LoadResult> again = co_await state->lookup(key, stale_again);
  if (again && !stale_again) {
    state->finish(key, *again);
    outcome("hit");
    co_return std::move(*again);
  }
  LoadResult result = co_await state->load_and_store(key, loader, options);
  state->finish(key, result);
  outcome(result.ok() ? "loaded" : "load_error");
  if (span && !result.ok()) span->set_error(result.error().message);
  co_return result;
}

Awaitable<void> LoadingCache::invalidate(std::string key) {
  state_->invalidate_flight(key);
  co_await state_->cache->erase(std::move(key));
}

LoadingStats LoadingCache::stats() const {
  const State& s = *state_;
  return LoadingStats{s.loads.load(), s.load_errors.load(), s.coalesced.load(),
                      s.stale_served.load(), s.negative_hits.load()};
}

}  // namespace stoa::cache
