#pragma once
// JSON through Boost.JSON, with the bounds every untrusted document gets.
#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "runtime/error.h"

namespace stoa::json {

struct Limits {
  std::size_t max_bytes = 1024 * 1024;
  std::size_t max_depth = 32;
};

// Errc::too_large over max_bytes or max_depth, Errc::invalid_argument when malformed
// (including invalid UTF-8); the message says where.
Result<boost::json::value> parse(std::string_view text, const Limits& limits = {});
std::string serialize(const boost::json::value& value);

}  // namespace stoa::json
