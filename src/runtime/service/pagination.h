#pragma once
// Service kit: cursor pagination. A list route answers a page and, when there is more, a
// `next_cursor` the client sends back as `?cursor=`; `?limit=` picks the page size within
// bounds. The cursor is opaque and tamper-evident: base64url of a small JSON position (say the
// last row's sort key and id) with an HMAC-SHA256 tag under the service's key, so a client can
// neither read meaning into it nor forge a position; anything else answers 400.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "runtime/error.h"
#include "runtime/http_types.h"

namespace stoa::service {

struct PageSize {
  std::size_t default_size = 20;
  std::size_t max_size = 100;
};

// `?limit=`: a whole number from 1 to bounds.max_size, or bounds.default_size when absent.
// Errc::invalid_argument otherwise.
Result<std::size_t> page_size(const http::Request& request, const PageSize& bounds = {});

class CursorCodec {
 public:
  // `key` signs the cursors: configured (at least 32 bytes) when cursors must stay valid across
  // restarts and instances, else random_key() (runtime/digest.h) per process. Throws
  // std::invalid_argument for a shorter key.
  explicit CursorCodec(std::string key);

  // At most 512 bytes of JSON (a position, not data).
  std::string encode(const boost::json::object& position) const;
  // Errc::invalid_argument ("cursor is not one this API returned") for anything encode() did
  // not make with this key.
  Result<boost::json::object> decode(std::string_view cursor) const;

 private:
  std::string key_;
};

// The request's `?cursor=` decoded: nullopt when absent or empty (the first page).
Result<std::optional<boost::json::object>> cursor_param(const http::Request& request,
                                                        const CursorCodec& codec);

}  // namespace stoa::service
