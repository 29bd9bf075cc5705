#pragma once
// RFC 3339 timestamps, the one format Stoa writes time in (logs, spans, events, records): UTC,
// "2024-05-01T12:34:56.789Z". Formatting and parsing live here alone so that every layer writes
// the same text and reads any RFC 3339 text back. HTTP dates are runtime/http/http_date.h.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace stoa {

// "2024-05-01T12:34:56.789Z": UTC, millisecond precision (truncated towards the past).
void append_rfc3339_ms(std::string& out, std::chrono::system_clock::time_point time);
std::string rfc3339_ms(std::chrono::system_clock::time_point time);
// "2024-05-01T12:34:56Z": whole seconds, for records that never had more.
std::string rfc3339_seconds(std::chrono::system_clock::time_point time);

// Any RFC 3339 date-time (§5.6): "T" or "t", a fraction of up to 9 digits (kept to the
// clock's precision), "Z"/"z" or a numeric offset, which is applied. The date must exist
// (no February 30); a leap second (:60) reads as the last second of its minute plus one.
// nullopt for anything else, and for a time the clock cannot hold (clock_time()).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

// `time` on the system clock, or nullopt when the clock's range (1677 to 2262 with Linux's
// nanosecond clock) does not hold it: parsers of dates from the wire check with this
// instead of overflowing.
std::optional<std::chrono::system_clock::time_point> clock_time(std::chrono::sys_seconds time);

}  // namespace stoa
