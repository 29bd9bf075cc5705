#pragma once
// The in-process cache: sharded, bounded by bytes, with TTL and S3-FIFO eviction.
//
// Each shard holds a small FIFO (about 10% of its bytes) for new entries, a main FIFO for
// entries that were read again while in the small queue, and a ghost FIFO of keys recently
// evicted from the small queue (a key in the ghost goes straight to main when set again).
// Reads bump a frequency counter capped at 3; eviction from main reinserts entries whose
// counter is non-zero, decrementing it. On skewed traffic this beats LRU.
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/cache/cache.h"
#include "data/cache/memory_atomics.h"
#include "runtime/clock.h"

namespace stoa::cache {

class MemoryCache final : public Cache {
 public:
  struct Options {
    std::size_t max_bytes = 256u << 20;
    std::size_t shards = 16;
    // TTLs (and the atomics' expiry) follow its steady time; it must outlive the cache.
    const Clock* clock = &Clock::real();
  };

  // Estimated bytes of bookkeeping per entry, added to key and value sizes.
  static constexpr std::size_t kEntryOverhead = 64;

  explicit MemoryCache(Options options);
  MemoryCache() : MemoryCache(Options{}) {}
  ~MemoryCache() override;
  MemoryCache(const MemoryCache&) = delete;
  MemoryCache& operator=(const MemoryCache&) = delete;

  Awaitable<std::optional<std::string>> get(std::string key) override;
  Awaitable<void> set(std::string key, std::string value, std::chrono::milliseconds ttl) override;
  Awaitable<bool> erase(std::string key) override;
  Awaitable<std::vector<std::optional<std::string>>> get_many(
      std::vector<std::string> keys) override;
  Stats stats() const override;
  const char* backend() const override { return "memory"; }
  Atomics& atomics() override { return atomics_; }

  // Synchronous forms, usable without an event loop.
  std::optional<std::string> get_now(std::string_view key);
  // False when the entry is larger than a shard's budget and so was not stored (any previous
  // value under key is removed).
  bool set_now(std::string_view key, std::string value,
               std::chrono::milliseconds ttl = std::chrono::milliseconds{0});
  bool erase_now(std::string_view key);

  std::size_t max_bytes() const { return max_bytes_; }
  std::size_t shard_count() const { return shards_.size(); }

 private:
  struct Shard;
  Shard& shard_for(std::size_t hash) const;

  std::size_t max_bytes_;
  const Clock& clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
  MemoryAtomics atomics_;
};

}  // namespace stoa::cache
