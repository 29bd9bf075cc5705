#pragma once
// Writes an HTTP/1.1 response head. The server serializes responses itself, into one
// reusable buffer written with the body in a single gather-write: Beast's general-purpose
// serializer cost several percent of throughput on small responses.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/http_types.h"

namespace stoa::http {

struct ResponseHead {
  int status = 200;
  const Headers* headers = nullptr;  // the handler's; framing headers in it are ignored
  std::string_view date;             // RFC 9110 IMF-fixdate
  std::string_view request_id;       // "" = no X-Request-Id
  bool keep_alive = true;
  unsigned request_version = 11;              // 10: "Connection: keep-alive" is said explicitly
  std::optional<std::size_t> content_length;  // nullopt: none (1xx, 204, 304)
};

// Appends the head (status line, headers, blank line) to `out`. Header fields whose name or
// value could split the message (CR, LF, NUL; an empty or non-token name) are left out and
// counted in the return value, so a handler echoing input cannot inject headers.
std::size_t append_response_head(std::string& out, const ResponseHead& head);

}  // namespace stoa::http
