#include "data/cache/memory_cache.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "data/cache/backend.h"

namespace stoa::cache {

namespace {

using Steady = std::chrono::steady_clock;

constexpr std::uint8_t kMaxFreq = 3;

std::size_t hash_key(std::string_view key) {
  // Mix std::hash so that shard choice (low bits) and ghost identity use well-spread bits.
  std::uint64_t h = std::hash<std::string_view>{}(key);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<std::size_t>(h);
}

std::size_t entry_size(std::string_view key, std::string_view value) {
  return key.size() + value.size() + MemoryCache::kEntryOverhead;
}

struct Entry {
  std::string key;
  std::string value;
  Steady::time_point expires;  // time_point::max() when the entry does not expire
  std::size_t hash = 0;
  std::size_t size = 0;
  std::uint8_t freq = 0;
  bool in_main = false;
};

using Queue = std::list<Entry>;  // front = newest, back = oldest

}  // namespace

struct MemoryCache::Shard {
  explicit Shard(std::size_t budget_bytes)
      : budget(budget_bytes), small_budget(std::max<std::size_t>(budget_bytes / 10, 1)) {}

  std::optional<std::string> get(std::string_view key, Steady::time_point now) {
    std::lock_guard lock(mutex);
    auto it = index.find(key);
    if (it == index.end()) {
      ++stats.misses;
      return std::nullopt;
    }
    Entry& e = *it->second;
    if (e.expires <= now) {
      remove(it);
      ++stats.misses;
      return std::nullopt;
    }
    if (e.freq < kMaxFreq) ++e.freq;
    ++stats.hits;
    return e.value;
  }

  bool set(std::string_view key, std::size_t hash, std::string value, Steady::time_point expires) {
    std::lock_guard lock(mutex);
    const std::size_t size = entry_size(key, value);
    auto it = index.find(key);
    if (size > budget) {
      if (it != index.end()) remove(it);
      return false;
    }
    if (it != index.end()) {
      // Update in place: keep the entry's queue position and frequency.
      Entry& e = *it->second;
      const std::size_t old = e.size;
      e.value = std::move(value);
      e.expires = expires;
      e.size = size;
      bytes = bytes - old + size;
      if (e.in_main) {
        main_bytes = main_bytes - old + size;
      } else {
        small_bytes = small_bytes - old + size;
      }
    } else {
      const bool to_main = ghost_take(hash);
      Queue& q = to_main ? main : small;
      q.push_front(Entry{std::string(key), std::move(value), expires, hash, size, 0, to_main});
      Queue::iterator pos = q.begin();
      index.emplace(std::string_view(pos->key), pos);
      bytes += size;
      (to_main ? main_bytes : small_bytes) += size;
    }
    while (bytes > budget) evict();
    return true;
  }

  bool erase(std::string_view key) {
    std::lock_guard lock(mutex);
    auto it = index.find(key);
    if (it == index.end()) return false;
    remove(it);
    return true;
  }

  void add_stats(Stats& out) {
    std::lock_guard lock(mutex);
    out.hits += stats.hits;
    out.misses += stats.misses;
    out.evictions += stats.evictions;
    out.bytes += bytes;
    out.entries += index.size();
  }

 private:
  using Index = std::unordered_map<std::string_view, Queue::iterator>;

  void remove(Index::iterator it) {
    Queue::iterator e = it->second;
    index.erase(it);
    drop(e);
  }

  // Unlinks e from its queue and accounts for its bytes; the index must already be updated.
  void drop(Queue::iterator e) {
    bytes -= e->size;
    if (e->in_main) {
      main_bytes -= e->size;
      main.erase(e);
    } else {
      small_bytes -= e->size;
      small.erase(e);
    }
  }

  void evict() {
    if (!small.empty() && (small_bytes >= small_budget || main.empty())) {
      evict_small();
    } else {
      evict_main();
    }
  }

  void evict_small() {
    while (!small.empty()) {
      Queue::iterator e = std::prev(small.end());
      if (e->freq > 0) {
        // Read again while in the small queue: promote to main.
        e->freq = 0;
        e->in_main = true;
        small_bytes -= e->size;
        main_bytes += e->size;
        main.splice(main.begin(), small, e);
        if (main_bytes > budget - std::min(budget, small_budget) && !main.empty()) {
          // Keep main within its share; evicting there frees bytes.
          evict_main();
          return;
        }
        continue;
      }
      ghost_add(e->hash);
      index.erase(std::string_view(e->key));
      drop(e);
      ++stats.evictions;
      return;
    }
    evict_main();
  }

  void evict_main() {
    while (!main.empty()) {
      Queue::iterator e = std::prev(main.end());
      if (e->freq > 0) {
        --e->freq;
        main.splice(main.begin(), main, e);
        continue;
      }
      index.erase(std::string_view(e->key));
      drop(e);
      ++stats.evictions;
      return;
    }
    if (!small.empty()) evict_small();
  }

  // The ghost queue remembers as many recently evicted keys as the shard holds entries.
  void ghost_add(std::size_t hash) {
    ghost_fifo.push_back(hash);
    ++ghost_set[hash];
    const std::size_t limit = std::max<std::size_t>(index.size(), 64);
    while (ghost_fifo.size() > limit) {
      auto g = ghost_set.find(ghost_fifo.front());
      if (g != ghost_set.end() && --g->second == 0) ghost_set.erase(g);
      ghost_fifo.pop_front();
    }
  }

  bool ghost_take(std::size_t hash) {
    auto g = ghost_set.find(hash);
    if (g == ghost_set.end()) return false;
    // The FIFO slot stays and is skipped when it ages out.
    ghost_set.erase(g);
    return true;
  }

  std::mutex mutex;
  const std::size_t budget;
  const std::size_t small_budget;
  Queue small;
  Queue main;
  Index index;
  std::deque<std::size_t> ghost_fifo;
  std::unordered_map<std::size_t, std::uint32_t> ghost_set;
  std::size_t bytes = 0;
  std::size_t small_bytes = 0;
  std::size_t main_bytes = 0;
  Stats stats;
};

MemoryCache::MemoryCache(Options options)
    : max_bytes_(options.max_bytes), clock_(*options.clock), atomics_(*options.clock) {
  const std::size_t n = std::max<std::size_t>(options.shards, 1);
  shards_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>(max_bytes_ / n));
}

MemoryCache::~MemoryCache() = default;

MemoryCache::Shard& MemoryCache::shard_for(std::size_t hash) const {
  return *shards_[hash % shards_.size()];
}

std::optional<std::string> MemoryCache::get_now(std::string_view key) {
  const std::size_t h = hash_key(key);
  return shard_for(h).get(key, clock_.steady_now());
}

bool MemoryCache::set_now(std::string_view key, std::string value, std::chrono::milliseconds ttl) {
  const std::size_t h = hash_key(key);
  const Steady::time_point expires =
      ttl.count() > 0 ? clock_.steady_now() + ttl : Steady::time_point::max();
  return shard_for(h).set(key, h, std::move(value), expires);
}

bool MemoryCache::erase_now(std::string_view key) {
  return shard_for(hash_key(key)).erase(key);
}

Awaitable<std::optional<std::string>> MemoryCache::get(std::string key) {
  co_return get_now(key);
}

Awaitable<void> MemoryCache::set(std::string key, std::string value,
                                 std::chrono::milliseconds ttl) {
  set_now(key, std::move(value), ttl);
  co_return;
}

Awaitable<bool> MemoryCache::erase(std::string key) {
  co_return erase_now(key);
}

Awaitable<std::vector<std::optional<std::string>>> MemoryCache::get_many(
    std::vector<std::string> keys) {
  std::vector<std::optional<std::string>> out;
  out.reserve(keys.size());
  for (const std::string& k : keys) out.push_back(get_now(k));
  co_return out;
}

Stats MemoryCache::stats() const {
  Stats out;
  for (const auto& s : shards_) s->add_stats(out);
  return out;
}

namespace {
[[maybe_unused]] const bool registered =
    register_backend("memory", [](const CacheOptions& options) -> Result<std::shared_ptr<Cache>> {
      Result<MemoryUrl> m = parse_memory_url(options.url);
      if (!m) return m.error();
      return std::shared_ptr<Cache>(std::make_shared<MemoryCache>(MemoryCache::Options{
          .max_bytes = m->max_bytes, .shards = m->shards, .clock = options.clock}));
    });
}  // namespace

}  // namespace stoa::cache
