#pragma once
// HTTP dates (RFC 9110 §5.6.7): Date, Last-Modified, If-Modified-Since, Expires, Retry-After.
// Stoa writes IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", and reads it plus the two obsolete
// forms a recipient must still accept: rfc850-date "Sunday, 06-Nov-94 08:49:37 GMT" and
// asctime-date "Sun Nov  6 08:49:37 1994".
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::http {

// IMF-fixdate of the second that holds `time` (years 0000-9999).
std::string format_http_date(std::chrono::system_clock::time_point time);
void append_http_date(std::string& out, std::chrono::system_clock::time_point time);

// Any of the three forms, matched case-sensitively as the grammar spells them; the day name
// must be a day name but is not checked against the date. An rfc850 two-digit year is put in
// the century that makes it no more than 50 years after `now` (§5.6.7). nullopt otherwise, and
// for a date the clock cannot hold (runtime/time_format.h: clock_time()).
std::optional<std::chrono::system_clock::time_point> parse_http_date(
    std::string_view text, std::chrono::system_clock::time_point now);
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

}  // namespace stoa::http
