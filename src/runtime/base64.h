#pragma once
// Base64 (RFC 4648): the standard alphabet with padding, and the URL-safe one without it
// (JOSE: JWT, JWK). Decoding is strict: a character outside the alphabet, bad padding or
// non-zero trailing bits is an error, so one text has one meaning.
#include <optional>
#include <string>
#include <string_view>

namespace stoa::base64 {

std::string encode(std::string_view bytes);
std::string encode_url(std::string_view bytes);  // no padding

std::optional<std::string> decode(std::string_view text);      // padding required
std::optional<std::string> decode_url(std::string_view text);  // no padding allowed

}  // namespace stoa::base64
