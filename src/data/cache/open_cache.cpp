#include "data/cache/open_cache.h"

#include <charconv>
#include <stdexcept>

#include "data/cache/memory_cache.h"
#include "data/cache/observed_cache.h"
#include "data/cache/redis_cache.h"
#include "observability/telemetry.h"
#include "runtime/component.h"
#include "runtime/config.h"

namespace stoa::cache {

namespace {

// Read by the readiness check: a GET is a round trip to Redis through the cache's connections.
constexpr std::string_view kReadinessKey = "stoa:cache:readiness";

Error bad_memory_url(std::string_view url, std::string_view why) {
  return Error{Errc::invalid_argument,
               "invalid cache URL " + quote_for_message(url, 200) + ": " + std::string(why)};
}

}  // namespace

CacheOptions CacheOptions::from_config(const Config& config) {
  CacheOptions o;
  o.url = config.string("cache.url");
  const std::int64_t pool = config.integer("cache.pool_size");
  if (pool < 1 || pool > 64) {
    throw std::invalid_argument("cache.pool_size must be from 1 to 64, not " +
                                std::to_string(pool));
  }
  o.pool_size = static_cast<std::size_t>(pool);
  o.connect_timeout = config.duration("cache.connect_timeout");
  o.command_timeout = config.duration("cache.command_timeout");
  o.reconnect_interval = config.duration("cache.reconnect_interval");
  return o;
}

Result<MemoryUrl> parse_memory_url(std::string_view url) {
  constexpr std::string_view scheme = "memory://";
  if (url.substr(0, scheme.size()) != scheme) {
    return bad_memory_url(url, "expected memory://?max_bytes=SIZE");
  }
  std::string_view rest = url.substr(scheme.size());
  if (!rest.empty() && rest.front() != '?') {
    return bad_memory_url(url, "the in-process cache takes no host or path");
  }
  MemoryUrl out;
  if (!rest.empty()) rest.remove_prefix(1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (name == "max_bytes") {
      const auto size = parse_size(value);
      if (!size || *size < 4096) {
        return bad_memory_url(url, "max_bytes must be a size of at least 4096, as 256MiB");
      }
      out.max_bytes = static_cast<std::size_t>(*size);
    } else if (name == "shards") {
      unsigned n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 1024) {
        return bad_memory_url(url, "shards must be a number from 1 to 1024");
      }
      out.shards = n;
    } else {
      return bad_memory_url(
          url, "unknown parameter " + quote_for_message(name) + " (known: max_bytes, shards)");
    }
  }
  return out;
}

Result<std::shared_ptr<Cache>> open_cache(const CacheOptions& options, EventLoop& /*loop*/,
                                          obs::Telemetry* telemetry) {
  std::shared_ptr<Cache> cache;
  if (options.url.rfind("memory:", 0) == 0) {
    Result<MemoryUrl> m = parse_memory_url(options.url);
    if (!m.ok()) return m.error();
    cache = std::make_shared<MemoryCache>(
        MemoryCache::Options{.max_bytes = m->max_bytes, .shards = m->shards});
  } else if (options.url.rfind("redis:", 0) == 0) {
    Result<RedisOptions> r = parse_redis_url(options.url);
    if (!r.ok()) return r.error();
    r->pool_size = options.pool_size;
    r->connect_timeout = options.connect_timeout;
    r->command_timeout = options.command_timeout;
    r->reconnect_interval = options.reconnect_interval;
    cache = std::make_shared<RedisCache>(std::make_shared<RedisClient>(std::move(r).value()));
  } else {
    return Error{Errc::invalid_argument,
                 "invalid cache URL " + quote_for_message(redact_url(options.url), 200) +
                     ": expected memory://?max_bytes=SIZE or redis://host:port/db"};
  }
  if (telemetry != nullptr) cache = observe_cache(std::move(cache), telemetry->metrics());
  return cache;
}

std::shared_ptr<Cache> shared_cache(ComponentHost& host) {
  return host.shared<Cache>("cache", [&host]() -> std::shared_ptr<Cache> {
    const CacheOptions options = CacheOptions::from_config(host.config());
    Result<std::shared_ptr<Cache>> cache = open_cache(options, host.loop(), &host.telemetry());
    if (!cache.ok()) throw std::invalid_argument("cache.url: " + cache.error().message);
    if (std::string_view(cache.value()->backend()) == "redis") {
      std::weak_ptr<Cache> weak = cache.value();
      host.add_readiness_check("cache", [weak]() -> Awaitable<Status> {
        std::shared_ptr<Cache> c = weak.lock();
        if (!c) co_return Ok{};
        // A PING through the cache's own connections.
        Result<std::optional<std::string>> r = co_await c->try_get(std::string(kReadinessKey));
        if (!r.ok()) co_return r.error();
        co_return Ok{};
      });
    }
    return cache.value();
  });
}

}  // namespace stoa::cache
