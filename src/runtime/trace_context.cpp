#include "runtime/trace_context.h"

#include <algorithm>
#include <cstddef>
#include <random>
#include <vector>

namespace stoa {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Lowercase hex only: W3C Trace Context forbids uppercase in traceparent.
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <std::size_t N>
bool decode_hex(std::string_view hex, std::array<std::uint8_t, N>& out) {
  if (hex.size() != N * 2) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

template <std::size_t N>
std::string encode_hex(const std::array<std::uint8_t, N>& bytes) {
  std::string out(N * 2, '0');
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 0x0f];
  }
  return out;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

std::mt19937_64& generator() {
  thread_local std::mt19937_64 engine = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return engine;
}

// Fills with random bytes, never all zero (an all-zero id is invalid in W3C Trace Context).
template <std::size_t N>
void fill_random(std::array<std::uint8_t, N>& bytes) {
  auto& engine = generator();
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t word = engine();
      for (std::size_t j = i; j < N && j < i + 8; ++j) {
        bytes[j] = static_cast<std::uint8_t>(word);
        word >>= 8;
      }
    }
  } while (all_zero(bytes));
}

bool is_lcalpha(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_key_char(char c) {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

// key = simple-key / multi-tenant-key
// simple-key       = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
// multi-tenant-key = tenant-id "@" system-id
// tenant-id        = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
// system-id        = lcalpha 0*13( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
bool valid_tracestate_key(std::string_view key) {
  const auto at = key.find('@');
  const auto all_key_chars = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), is_key_char);
  };
  if (at == std::string_view::npos) {
    return !key.empty() && key.size() <= 256 && is_lcalpha(key[0]) && all_key_chars(key);
  }
  const auto tenant = key.substr(0, at);
  const auto system = key.substr(at + 1);
  return !tenant.empty() && tenant.size() <= 241 &&
         (is_lcalpha(tenant[0]) || is_digit(tenant[0])) && all_key_chars(tenant) &&
         !system.empty() && system.size() <= 14 && is_lcalpha(system[0]) && all_key_chars(system);
}

// value    = 0*255(chr) nblk-chr
// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
// chr      = %x20 / nblk-chr
bool valid_tracestate_value(std::string_view value) {
  if (value.empty() || value.size() > 256) return false;
  const auto nblk = [](char c) { return c >= 0x21 && c <= 0x7e && c != ',' && c != '='; };
  if (!nblk(value.back())) return false;
  return std::all_of(value.begin(), value.end(), [&](char c) { return c == ' ' || nblk(c); });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool TraceId::valid() const {
  return !all_zero(bytes);
}
std::string TraceId::hex() const {
  return encode_hex(bytes);
}
std::optional<TraceId> TraceId::from_hex(std::string_view hex) {
  TraceId id;
  if (!decode_hex(hex, id.bytes)) return std::nullopt;
  return id;
}
TraceId TraceId::random() {
  TraceId id;
  fill_random(id.bytes);
  return id;
}

bool SpanId::valid() const {
  return !all_zero(bytes);
}
std::string SpanId::hex() const {
  return encode_hex(bytes);
}
std::optional<SpanId> SpanId::from_hex(std::string_view hex) {
  SpanId id;
  if (!decode_hex(hex, id.bytes)) return std::nullopt;
  return id;
}
SpanId SpanId::random() {
  SpanId id;
  fill_random(id.bytes);
  return id;
}

std::string TraceContext::traceparent() const {
  std::string out;
  out.reserve(55);
  out += "00-";
  out += trace_id.hex();
  out += '-';
  out += span_id.hex();
  out += '-';
  out += kHexDigits[flags >> 4];
  out += kHexDigits[flags & 0x0f];
  return out;
}

TraceContext TraceContext::child_of(const TraceContext& parent) {
  TraceContext child;
  if (parent.valid()) {
    child.trace_id = parent.trace_id;
    child.flags = parent.flags;
    child.tracestate = parent.tracestate;
    child.parent_span_id = parent.span_id;
    child.recording = parent.recording;
  } else {
    child.trace_id = TraceId::random();
    child.flags = 0x01;
  }
  child.span_id = SpanId::random();
  return child;
}

std::optional<TraceContext> parse_traceparent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" trace-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55.
  constexpr std::size_t kLength = 55;
  if (header.size() < kLength) return std::nullopt;
  std::array<std::uint8_t, 1> version{};
  if (!decode_hex(header.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0x00) {
    if (header.size() != kLength) return std::nullopt;
  } else if (header.size() > kLength && header[kLength] != '-') {
    // A future version may append fields, always after a '-'.
    return std::nullopt;
  }
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  TraceContext context;
  std::array<std::uint8_t, 1> flags{};
  if (!decode_hex(header.substr(3, 32), context.trace_id.bytes) ||
      !decode_hex(header.substr(36, 16), context.span_id.bytes) ||
      !decode_hex(header.substr(53, 2), flags)) {
    return std::nullopt;
  }
  if (!context.trace_id.valid() || !context.span_id.valid()) return std::nullopt;
  context.flags = flags[0];
  return context;
}

std::optional<std::string> sanitize_tracestate(std::string_view header) {
  constexpr std::size_t kMaxBytes = 512;
  constexpr std::size_t kMaxMembers = 32;
  if (header.size() > kMaxBytes) return std::nullopt;
  std::string out;
  std::vector<std::string_view> keys;
  std::size_t start = 0;
  while (start <= header.size()) {
    auto end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    const auto member = trim_ows(header.substr(start, end - start));
    start = end + 1;
    if (member.empty()) continue;  // empty list members are allowed and dropped
    const auto eq = member.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const auto key = member.substr(0, eq);
    if (!valid_tracestate_key(key) || !valid_tracestate_value(member.substr(eq + 1))) {
      return std::nullopt;
    }
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) return std::nullopt;
    keys.push_back(key);
    if (keys.size() > kMaxMembers) return std::nullopt;
    if (!out.empty()) out += ',';
    out += member;
  }
  return out;
}

std::string random_hex_id() {
  return TraceId::random().hex();
}

}  // namespace stoa
