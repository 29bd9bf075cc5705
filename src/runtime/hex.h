#pragma once
// Hexadecimal digits, for the parsers of percent-escapes, UUIDs and the like, and hex text of
// bytes (digests, signatures).
#include <optional>
#include <string>
#include <string_view>

namespace stoa {

// The value of a hex digit of either case, or -1.
constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string to_hex(std::string_view bytes);  // lower case
// Either case; nullopt for an odd length or a non-hex digit.
std::optional<std::string> from_hex(std::string_view text);

}  // namespace stoa
