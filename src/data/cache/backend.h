#pragma once
// The backends behind open_cache(): each registers itself for its URL scheme from its own
// .cpp (as SQL drivers and broker adapters do), so open_cache() never names an engine.
#include <functional>
#include <memory>
#include <string>

#include "data/cache/open_cache.h"

namespace stoa::cache {

using CacheFactory = std::function<Result<std::shared_ptr<Cache>>(const CacheOptions& options)>;

// Returns true so that it can initialise a namespace-scope constant:
//   [[maybe_unused]] const bool registered = register_backend("memory", open_memory);
bool register_backend(std::string scheme, CacheFactory factory);

}  // namespace stoa::cache
