#pragma once
// Metrics around any Cache, so that every backend reports the same series:
//   cache_operations_total{stoa_cache_backend, operation, result}   result: hit, miss, error, ok
//   cache_operation_duration_seconds{stoa_cache_backend, operation}   histogram
//   cache_errors_total{stoa_cache_backend}                           failed backend operations
//   cache_evictions_total{stoa_cache_backend}                        read from the backend's stats
#include <memory>

#include "data/cache/cache.h"

namespace stoa::obs {
class Metrics;
}

namespace stoa::cache {

// Wraps `inner`; `metrics` must outlive the returned cache.
std::shared_ptr<Cache> observe_cache(std::shared_ptr<Cache> inner, obs::Metrics& metrics);

// Buckets of cache_operation_duration_seconds: 50 µs .. 1 s.
const std::vector<double>& cache_duration_buckets();

}  // namespace stoa::cache
