#include "data/cache/typed.h"

#include <charconv>

#include "runtime/json.h"

namespace stoa::cache {

std::optional<boost::json::value> decode_json(std::string_view bytes) {
  Result<boost::json::value> parsed = json::parse(bytes, json::Limits{.max_bytes = 64u << 20});
  if (!parsed.ok()) return std::nullopt;
  return std::move(parsed).value();
}

std::optional<std::int64_t> decode_int(std::string_view bytes) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(bytes.data(), bytes.data() + bytes.size(), v);
  if (ec != std::errc() || end != bytes.data() + bytes.size() || bytes.empty()) {
    return std::nullopt;
  }
  return v;
}

Awaitable<std::optional<boost::json::value>> get_json(Cache& cache, std::string key) {
  std::optional<std::string> bytes = co_await cache.get(std::move(key));
  if (!bytes) co_return std::nullopt;
  co_return decode_json(*bytes);
}

Awaitable<void> set_json(Cache& cache, std::string key, const boost::json::value& value,
                         std::chrono::milliseconds ttl) {
  std::string bytes = json::serialize(value);
  co_await cache.set(std::move(key), std::move(bytes), ttl);
}

Awaitable<std::optional<std::int64_t>> get_int(Cache& cache, std::string key) {
  std::optional<std::string> bytes = co_await cache.get(std::move(key));
  if (!bytes) co_return std::nullopt;
  co_return decode_int(*bytes);
}

Awaitable<void> set_int(Cache& cache, std::string key, std::int64_t value,
                        std::chrono::milliseconds ttl) {
  co_await cache.set(std::move(key), std::to_string(value), ttl);
}

}  // namespace stoa::cache
