#include "data/cache/open_cache.h"

#include <charconv>
#include <stdexcept>

#include "data/cache/backend.h"
#include "data/cache/observed_cache.h"
#include "observability/telemetry.h"
#include "runtime/backend_registry.h"
#include "runtime/component.h"
#include "runtime/config.h"

namespace stoa::cache {

namespace {

// Read by the readiness check: a GET is a round trip to Redis through the cache's connections.
constexpr std::string_view kReadinessKey = "stoa:cache:readiness";

BackendRegistry<CacheFactory>& backends() {
  static BackendRegistry<CacheFactory> registry("cache.url");
  return registry;
}

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
  if (url_scheme(url) != "memory") return bad_memory_url(url, "expected memory://?max_bytes=SIZE");
  auto parsed = parse_backend_url(url);
  if (!parsed) return bad_memory_url(url, parsed.error().message);
  if (!parsed->hosts.empty() || !parsed->path.empty()) {
    return bad_memory_url(url, "the in-process cache takes no host or path");
  }
  MemoryUrl out;
  for (const UrlParam& param : parsed->query) {
    if (param.name == "max_bytes") {
      const auto size = parse_size(param.value);
      if (!size || *size < 4096) {
        return bad_memory_url(url, "max_bytes must be a size of at least 4096, as 256MiB");
      }
      out.max_bytes = static_cast<std::size_t>(*size);
    } else if (param.name == "shards") {
      unsigned n = 0;
      const std::string& value = param.value;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 1024) {
        return bad_memory_url(url, "shards must be a number from 1 to 1024");
      }
      out.shards = n;
    } else {
      return bad_memory_url(url, "unknown parameter " + quote_for_message(param.name) +
                                     " (known: max_bytes, shards)");
    }
  }
  return out;
}

bool register_backend(std::string scheme, CacheFactory factory) {
  return backends().add(std::move(scheme), std::move(factory));
}

Result<std::shared_ptr<Cache>> open_cache(const CacheOptions& options, EventLoop& /*loop*/,
                                          obs::Telemetry* telemetry) {
  auto factory = backends().find(options.url);
  if (!factory) return factory.error();
  auto opened = (*factory)(options);
  if (!opened) return opened.error();
  std::shared_ptr<Cache> cache = std::move(opened).value();
  if (telemetry != nullptr) cache = observe_cache(std::move(cache), telemetry->metrics());
  return cache;
}

std::shared_ptr<Cache> shared_cache(ComponentHost& host) {
  return host.shared<Cache>("cache", [&host]() -> std::shared_ptr<Cache> {
    CacheOptions options = CacheOptions::from_config(host.config());
    options.clock = &host.clock();
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
