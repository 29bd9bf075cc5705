#include "runtime/http_framing.h"

#include <vector>

namespace stoa::http {

namespace {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The codings of every Transfer-Encoding field, in order; empty list elements are skipped
// (RFC 9110 §5.6.1). A coding keeps its parameters, so `chunked;x=1` is not `chunked`.
std::vector<std::string_view> transfer_codings(const Headers& headers, bool& present) {
  std::vector<std::string_view> codings;
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "Transfer-Encoding")) continue;
    present = true;
    std::string_view rest = value;
    for (;;) {
      auto comma = rest.find(',');
      std::string_view element = trim_ows(rest.substr(0, comma));
      if (!element.empty()) codings.push_back(element);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return codings;
}

}  // namespace

FramingVerdict check_request_framing(const Headers& headers, unsigned version) {
  bool present = false;
  std::vector<std::string_view> codings = transfer_codings(headers, present);
  if (!present) return {};
  if (version < 11) {
    return {400, "Transfer-Encoding is not allowed in an HTTP/1.0 request."};
  }
  if (codings.empty()) return {400, "Transfer-Encoding is empty."};
  if (!iequals(codings.back(), "chunked")) {
    return {400, "The final transfer coding is not chunked, so the body's length is unknown."};
  }
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (iequals(codings[i], "chunked")) return {400, "The chunked coding is applied twice."};
  }
  if (codings.size() > 1) {
    return {501, "Only the chunked transfer coding is supported."};
  }
  return {};
}

}  // namespace stoa::http
