#pragma once
// Typed values over the byte cache: JSON documents (Boost.JSON) and integers. A stored value
// that does not parse as the asked type reads as a miss.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/json/value.hpp>

#include "data/cache/cache.h"

namespace stoa::cache {

Awaitable<std::optional<boost::json::value>> get_json(Cache& cache, std::string key);
Awaitable<void> set_json(Cache& cache, std::string key, const boost::json::value& value,
                         std::chrono::milliseconds ttl);

Awaitable<std::optional<std::int64_t>> get_int(Cache& cache, std::string key);
Awaitable<void> set_int(Cache& cache, std::string key, std::int64_t value,
                        std::chrono::milliseconds ttl);

// The conversions themselves, for loaders that return bytes (LoadingCache).
std::optional<boost::json::value> decode_json(std::string_view bytes);
std::optional<std::int64_t> decode_int(std::string_view bytes);

}  // namespace stoa::cache
