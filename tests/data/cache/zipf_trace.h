#pragma once
// The hit-ratio comparison of the in-process cache against a plain LRU on a Zipf trace, shared
// by the unit test (memory_cache_test.cpp) and `./dev bench cache`.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <list>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "data/cache/memory_cache.h"

namespace stoa::cache::testing {

// A plain LRU with the same byte accounting as MemoryCache, for comparison.
class Lru {
 public:
  explicit Lru(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  bool get(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.splice(order_.begin(), order_, it->second);
    return true;
  }

  void set(const std::string& key, std::size_t value_size) {
    const std::size_t size = key.size() + value_size + MemoryCache::kEntryOverhead;
    if (auto it = index_.find(key); it != index_.end()) {
      bytes_ -= it->second->second;
      order_.erase(it->second);
      index_.erase(it);
    }
    order_.emplace_front(key, size);
    index_[key] = order_.begin();
    bytes_ += size;
    while (bytes_ > max_bytes_) {
      auto& [k, s] = order_.back();
      bytes_ -= s;
      index_.erase(k);
      order_.pop_back();
    }
  }

 private:
  using List = std::list<std::pair<std::string, std::size_t>>;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  List order_;
  std::unordered_map<std::string, List::iterator> index_;
};

// `requests` keys "key:<rank>" drawn from `keys` ranks with Zipf skew `s`, seeded.
inline std::vector<std::string> zipf_trace(int keys, int requests, double s, unsigned seed) {
  std::vector<double> cdf(keys);
  double sum = 0;
  for (int r = 0; r < keys; ++r) {
    sum += 1.0 / std::pow(r + 1, s);
    cdf[r] = sum;
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(0, sum);
  std::vector<std::string> trace;
  trace.reserve(requests);
  for (int i = 0; i < requests; ++i) {
    const auto r = std::lower_bound(cdf.begin(), cdf.end(), uni(rng)) - cdf.begin();
    trace.push_back("key:" + std::to_string(r));
  }
  return trace;
}

struct HitRatios {
  double memory = 0;  // MemoryCache (S3-FIFO)
  double lru = 0;
  std::size_t budget = 0;
  std::size_t memory_bytes = 0;  // bytes the memory cache held at the end
};

// Replays `trace` as read-through traffic (a miss stores the value) on both caches, each
// bounded to `budget` bytes.
inline HitRatios compare_hit_ratios(const std::vector<std::string>& trace, std::size_t value_size,
                                    std::size_t budget) {
  MemoryCache cache({.max_bytes = budget, .shards = 16});
  Lru lru(budget);
  const std::string value(value_size, 'v');
  std::size_t s3_hits = 0;
  std::size_t lru_hits = 0;
  for (const std::string& key : trace) {
    if (cache.get_now(key)) {
      ++s3_hits;
    } else {
      cache.set_now(key, value);
    }
    if (lru.get(key)) {
      ++lru_hits;
    } else {
      lru.set(key, value_size);
    }
  }
  return HitRatios{double(s3_hits) / trace.size(), double(lru_hits) / trace.size(), budget,
                   cache.stats().bytes};
}

}  // namespace stoa::cache::testing
