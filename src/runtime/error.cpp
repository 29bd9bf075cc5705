#include "runtime/error.h"

#include <cstdio>

#include "runtime/backend_url.h"

namespace stoa {

const char* to_string(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::timeout:
      return "timeout";
    case Errc::unavailable:
      return "unavailable";
    case Errc::too_large:
      return "too_large";
    case Errc::protocol:
      return "protocol";
    case Errc::io:
      return "io";
    case Errc::cancelled:
      return "cancelled";
    case Errc::conflict:
      return "conflict";
    case Errc::aborted:
      return "aborted";
    case Errc::unauthenticated:
      return "unauthenticated";
    case Errc::permission_denied:
      return "permission_denied";
    case Errc::resource_exhausted:
      return "resource_exhausted";
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

std::string quote_for_message(std::string_view text, std::size_t max_chars) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < max_chars; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > max_chars) out += "...";
  return out + "\"";
}

std::string quote_url_for_message(std::string_view url) {
  // The scheme only: anything after it may hold a password.
  const std::string scheme = url_scheme(url);
  if (!scheme.empty()) return quote_for_message(scheme + "://...");
  if (url.find("://") != std::string_view::npos || url.find('@') != std::string_view::npos) {
    return quote_for_message("...");
  }
  return quote_for_message(url.substr(0, 16));
}

}  // namespace stoa
