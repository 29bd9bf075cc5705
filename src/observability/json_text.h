#pragma once
// Small, allocation-friendly JSON text writers shared by the logger, the tracer and the
// OTLP exporter. Unlike a generic serializer they never emit invalid JSON: strings are
// escaped (control characters as \uXXXX) and invalid UTF-8 is replaced with U+FFFD.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/time_format.h"

namespace stoa::obs::json_text {

// Appends `"..."` with `text` escaped and made valid UTF-8.
void append_string(std::string& out, std::string_view text);
// Appends a JSON number; NaN and infinities, which JSON cannot express, become null.
void append_number(std::string& out, double value);
void append_number(std::string& out, std::int64_t value);
void append_number(std::string& out, std::uint64_t value);

// "2024-05-01T12:34:56.789Z": RFC 3339, UTC, millisecond precision. The runtime owns the
// format (runtime/time_format.h); these names are its, re-exported for the JSON writers.
using stoa::append_rfc3339_ms;
using stoa::rfc3339_ms;

}  // namespace stoa::obs::json_text
