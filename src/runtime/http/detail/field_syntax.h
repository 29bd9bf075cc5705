#pragma once
// The lexical pieces of HTTP field values (RFC 9110 §5.6) that the parsers of runtime/http/
// share: tokens, optional whitespace, case folding. Internal to runtime/http/.
#include <string>
#include <string_view>

namespace stoa::http::detail {

// tchar (§5.6.2).
bool is_tchar(char c);
// 1*tchar.
bool is_token(std::string_view text);
// Without leading and trailing OWS (spaces and tabs, §5.6.3).
std::string_view trim_ows(std::string_view text);
// ASCII lower case (field names, directive names and tokens are case-insensitive).
std::string ascii_lower(std::string_view text);

}  // namespace stoa::http::detail
