#pragma once
// Whether the server can tell where a request's body ends (RFC 9112 §6). Beast frames a request
// by chunked only when `chunked` is the final transfer coding and otherwise reads no body at
// all, so `Transfer-Encoding: chunked, identity` or `xchunked` would leave the body's bytes on
// the connection to be read as a second request: request smuggling behind any proxy that
// frames it the other way. The server therefore accepts exactly one Transfer-Encoding shape,
// `chunked` alone, and refuses every other before it reads a body.
#include <string_view>

#include "runtime/http_types.h"

namespace stoa::http {

struct FramingVerdict {
  int status = 0;           // 0: the framing is sound; else 400 or 501, and the connection closes
  std::string_view detail;  // for the problem document
  explicit operator bool() const { return status == 0; }
};

// Checks every Transfer-Encoding field of a request head (HTTP version as 10 or 11):
// - none: the body is framed by Content-Length (Beast has refused a bad or doubled one);
// - an HTTP/1.0 request with Transfer-Encoding → 400 (§6.1: its framing is faulty);
// - a final coding other than `chunked`, `chunked` applied twice, an empty list → 400 (§6.3);
// - any other coding before `chunked` (gzip, identity, ...) → 501: the server decodes none.
FramingVerdict check_request_framing(const Headers& headers, unsigned version);

}  // namespace stoa::http
