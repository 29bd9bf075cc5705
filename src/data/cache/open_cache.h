#pragma once
// Opening the cache that cache.url names: "memory://?max_bytes=256MiB[&shards=16]" (the
// in-process cache, the default) or "redis://[[user]:password@]host[:port][/db]".
// docs/data-cache.md describes both.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "data/cache/cache.h"
#include "runtime/clock.h"
#include "runtime/error.h"

namespace stoa {
class ComponentHost;
class Config;
class EventLoop;
namespace obs {
class Telemetry;
}
}  // namespace stoa

namespace stoa::cache {

struct CacheOptions {
  std::string url = "memory://?max_bytes=256MiB";
  std::size_t pool_size = 2;  // Redis connections per event-loop thread
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{500};
  std::chrono::milliseconds reconnect_interval{100};
  // The in-process cache's time (TTLs, atomics); Redis keeps its own. Must outlive the cache.
  const Clock* clock = &Clock::real();

  // From [cache].
  static CacheOptions from_config(const Config& config);
};

struct MemoryUrl {
  std::size_t max_bytes = 256u << 20;
  std::size_t shards = 16;
};
// memory://?max_bytes=SIZE&shards=N (both optional). Errc::invalid_argument names the URL.
Result<MemoryUrl> parse_memory_url(std::string_view url);

// The cache for `options.url`, with metrics when `telemetry` is given. A bad URL is
// Errc::invalid_argument naming it (never its password). Redis is not contacted here: a
// cache on an unreachable Redis opens, and serves misses until Redis answers.
Result<std::shared_ptr<Cache>> open_cache(const CacheOptions& options, EventLoop& loop,
                                          obs::Telemetry* telemetry);

// The process's cache, shared by its components (ComponentHost::shared "cache"), from [cache];
// with Redis it adds the readiness check "cache" (PING). Throws std::invalid_argument with the
// message of a bad URL. Call it from Component::start().
std::shared_ptr<Cache> shared_cache(ComponentHost& host);

}  // namespace stoa::cache
