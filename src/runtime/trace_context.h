#pragma once
// W3C Trace Context (traceparent/tracestate) values, parsed and formatted here so that the
// server accepts them and the client propagates them.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stoa {

struct TraceId {
  std::array<std::uint8_t, 16> bytes{};
  bool valid() const;  // not all zero
  std::string hex() const;
  static std::optional<TraceId> from_hex(std::string_view hex);
  static TraceId random();
  bool operator==(const TraceId&) const = default;
};

struct SpanId {
  std::array<std::uint8_t, 8> bytes{};
  bool valid() const;
  std::string hex() const;
  static std::optional<SpanId> from_hex(std::string_view hex);
  static SpanId random();
  bool operator==(const SpanId&) const = default;
};

struct TraceContext {
  TraceId trace_id;
  SpanId span_id;             // the current span
  SpanId parent_span_id;      // invalid for a root span
  std::uint8_t flags = 0x01;  // bit 0: sampled
  std::string tracestate;     // passed along untouched (bounded at parse)
  // Whether this process records spans of this trace (OpenTelemetry's "is recording"):
  // decided once where the trace enters, inherited by children, never sent on the wire.
  bool recording = true;

  bool valid() const { return trace_id.valid() && span_id.valid(); }
  bool sampled() const { return (flags & 0x01) != 0; }

  // "00-<trace>-<span>-<flags>"
  std::string traceparent() const;
  // A context continuing `parent` with a fresh span id, or a new root when parent is invalid.
  static TraceContext child_of(const TraceContext& parent);
};

// Parses a traceparent header per W3C Trace Context level 1: version 00 exactly, and forward
// compatible with higher versions (extra fields after flags). Returns nullopt when invalid.
std::optional<TraceContext> parse_traceparent(std::string_view header);
// Keeps tracestate only when it is within the spec's bounds (32 members, 512 bytes).
std::optional<std::string> sanitize_tracestate(std::string_view header);

// 128 random bits as 32 lowercase hex digits, from a per-thread generator.
std::string random_hex_id();

}  // namespace stoa
