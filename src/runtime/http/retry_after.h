#pragma once
// Retry-After (RFC 9110 §10.2.3) on 429 and 503 answers, and read by clients that back off:
// delay-seconds or an HTTP-date.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::http {

// delay-seconds, rounded up so that a client never comes back before `wait` is over; a
// negative wait is 0.
std::string format_retry_after(std::chrono::milliseconds wait);
// The HTTP-date form, for a wait that ends at a known time.
std::string format_retry_after(std::chrono::system_clock::time_point when);

// The wait a field value asks for, from `now`: delay-seconds (clamped to 2^31 s) or an
// HTTP-date (a date in the past is no wait). nullopt for anything else.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view field,
                                                      std::chrono::system_clock::time_point now);

}  // namespace stoa::http
