#pragma once
// The cache on Redis (cache.url = "redis://…"). Callers see what they see with the in-process
// cache; when Redis is unreachable, get() is a miss, set() and erase() do nothing, and each
// such failure is counted (stats().errors, cache_errors_total) so requests keep working and
// fall through to the database. try_get() tells an error from a miss.
#include <atomic>
#include <memory>

#include "data/cache/cache.h"
#include "data/cache/redis_client.h"

namespace stoa::cache {

class RedisCache final : public Cache {
 public:
  explicit RedisCache(std::shared_ptr<RedisClient> client);
  ~RedisCache() override;

  Awaitable<std::optional<std::string>> get(std::string key) override;
  Awaitable<Result<std::optional<std::string>>> try_get(std::string key) override;
  Awaitable<void> set(std::string key, std::string value, std::chrono::milliseconds ttl) override;
  Awaitable<bool> erase(std::string key) override;
  Awaitable<std::vector<std::optional<std::string>>> get_many(
      std::vector<std::string> keys) override;
  // hits and misses as this process saw them, evictions 0 (Redis evicts on its own), bytes and
  // entries 0 (Redis's INFO knows them).
  Stats stats() const override;
  const char* backend() const override { return "redis"; }
  Atomics& atomics() override;

  // Failed commands (Redis unreachable, timed out, or an error reply).
  std::uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
  // PING: whether Redis answers now (the readiness check).
  Awaitable<Status> ping();
  RedisClient& client() { return *client_; }

 private:
  void count_error() { errors_.fetch_add(1, std::memory_order_relaxed); }

  std::shared_ptr<RedisClient> client_;
  std::unique_ptr<Atomics> atomics_;
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> errors_{0};
};

}  // namespace stoa::cache
