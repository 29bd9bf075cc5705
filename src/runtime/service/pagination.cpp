#include "runtime/service/pagination.h"

#include <charconv>
#include <stdexcept>
#include <utility>

#include "runtime/base64.h"
#include "runtime/digest.h"
#include "runtime/json.h"

namespace stoa::service {
namespace {

constexpr std::size_t kMinKeyBytes = 32;
constexpr std::size_t kMaxPositionBytes = 512;
// 128 bits of the tag: forging one takes 2^128 tries, and the cursor stays short.
constexpr std::size_t kTagBytes = 16;

Error foreign_cursor() {
  return Error{Errc::invalid_argument, "cursor is not one this API returned"};
}

std::string tag(std::string_view key, std::string_view position) {
  return hmac_sha256(key, position).substr(0, kTagBytes);
}

}  // namespace

Result<std::size_t> page_size(const http::Request& request, const PageSize& bounds) {
  auto text = request.query_param("limit");
  if (!text) return bounds.default_size;
  std::size_t parsed = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), parsed);
  if (ec != std::errc() || end != text->data() + text->size() || parsed < 1 ||
      parsed > bounds.max_size) {
    return Error{Errc::invalid_argument,
                 "limit must be a whole number from 1 to " + std::to_string(bounds.max_size)};
  }
  return parsed;
}

CursorCodec::CursorCodec(std::string key) : key_(std::move(key)) {
  if (key_.size() < kMinKeyBytes) {
    throw std::invalid_argument("a cursor key needs at least 32 bytes");
  }
}

std::string CursorCodec::encode(const boost::json::object& position) const {
  const std::string text = json::serialize(position);
  if (text.size() > kMaxPositionBytes) {
    throw std::invalid_argument("a cursor position is at most 512 bytes of JSON");
  }
  return base64::encode_url(text) + "." + base64::encode_url(tag(key_, text));
}

Result<boost::json::object> CursorCodec::decode(std::string_view cursor) const {
  // Bounded before any work: base64 grows text by a third, plus the dot and the tag.
  if (cursor.size() > kMaxPositionBytes * 4 / 3 + 32) return foreign_cursor();
  const auto dot = cursor.find('.');
  if (dot == std::string_view::npos) return foreign_cursor();
  auto text = base64::decode_url(cursor.substr(0, dot));
  auto mac = base64::decode_url(cursor.substr(dot + 1));
  if (!text || !mac || !constant_time_equal(*mac, tag(key_, *text))) return foreign_cursor();
  auto parsed = json::parse(*text, json::Limits{.max_bytes = kMaxPositionBytes, .max_depth = 4});
  if (!parsed || !parsed->is_object()) return foreign_cursor();
  return std::move(parsed->as_object());
}

Result<std::optional<boost::json::object>> cursor_param(const http::Request& request,
                                                        const CursorCodec& codec) {
  auto text = request.query_param("cursor");
  if (!text || text->empty()) return std::optional<boost::json::object>();
  auto position = codec.decode(*text);
  if (!position) return position.error();
  return std::optional<boost::json::object>(std::move(*position));
}

}  // namespace stoa::service
