#include "runtime/http/range.h"

#include <algorithm>
#include <charconv>
#include <random>

#include "runtime/hex.h"
#include "runtime/http/detail/field_syntax.h"

namespace stoa::http {

namespace {

// 1*DIGIT that fits in 64 bits.
std::optional<std::uint64_t> position(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<RangeSpec> parse_spec(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view first = text.substr(0, dash), last = text.substr(dash + 1);
  RangeSpec spec;
  if (first.empty()) {
    spec.suffix = position(last);
    if (!spec.suffix) return std::nullopt;
    return spec;
  }
  spec.first = position(first);
  if (!spec.first) return std::nullopt;
  if (!last.empty()) {
    spec.last = position(last);
    if (!spec.last || *spec.last < *spec.first) return std::nullopt;
  }
  return spec;
}

}  // namespace

std::optional<std::vector<RangeSpec>> parse_range(std::string_view field, std::size_t max_ranges) {
  field = detail::trim_ows(field);
  // The range unit is case-insensitive (§14.1).
  constexpr std::string_view kUnit = "bytes=";
  if (detail::ascii_lower(field.substr(0, kUnit.size())) != kUnit) return std::nullopt;
  field.remove_prefix(kUnit.size());
  std::vector<RangeSpec> specs;
  while (!field.empty()) {
    const auto comma = field.find(',');
    const std::string_view element = detail::trim_ows(field.substr(0, comma));
    field.remove_prefix(comma == std::string_view::npos ? field.size() : comma + 1);
    if (element.empty()) continue;  // empty list elements are allowed (§5.6.1)
    if (specs.size() == max_ranges) return std::nullopt;
    auto spec = parse_spec(element);
    if (!spec) return std::nullopt;
    specs.push_back(*spec);
  }
  if (specs.empty()) return std::nullopt;
  return specs;
}

std::string format_range(std::span<const RangeSpec> specs) {
  std::string out = "bytes=";
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (i > 0) out.push_back(',');
    const RangeSpec& spec = specs[i];
    if (spec.suffix) {
      out += "-" + std::to_string(*spec.suffix);
      continue;
    }
    out += std::to_string(spec.first.value_or(0)) + "-";
    if (spec.last) out += std::to_string(*spec.last);
  }
  return out;
}

std::optional<ByteRange> resolve_range(const RangeSpec& spec, std::uint64_t length) {
  if (length == 0) return std::nullopt;
  if (spec.suffix) {
    if (*spec.suffix == 0) return std::nullopt;
    const std::uint64_t n = std::min(*spec.suffix, length);
    return ByteRange{length - n, n};
  }
  const std::uint64_t first = spec.first.value_or(0);
  if (first >= length || (spec.last && *spec.last < first)) return std::nullopt;
  const std::uint64_t last = std::min(spec.last.value_or(length - 1), length - 1);
  return ByteRange{first, last - first + 1};
}

std::vector<ByteRange> resolve_ranges(std::span<const RangeSpec> specs, std::uint64_t length) {
  std::vector<ByteRange> ranges;
  for (const auto& spec : specs) {
    if (auto range = resolve_range(spec, length)) ranges.push_back(*range);
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.first < b.first; });
  std::vector<ByteRange> merged;
  for (const auto& range : ranges) {
    if (!merged.empty() && range.first <= merged.back().first + merged.back().length) {
      const std::uint64_t end =
          std::max(merged.back().first + merged.back().length, range.first + range.length);
      merged.back().length = end - merged.back().first;
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

std::string content_range(const ByteRange& range, std::uint64_t complete_length) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last()) + "/" +
         std::to_string(complete_length);
}

std::string unsatisfied_content_range(std::uint64_t complete_length) {
  return "bytes */" + std::to_string(complete_length);
}

MultipartByteranges::MultipartByteranges(std::string boundary, std::string content_type,
                                         std::uint64_t complete_length)
    : boundary_(std::move(boundary)),
      type_(std::move(content_type)),
      complete_length_(complete_length) {}

std::string MultipartByteranges::content_type() const {
  return "multipart/byteranges; boundary=" + boundary_;
}

std::string MultipartByteranges::part_head(std::size_t index, const ByteRange& range) const {
  // The first delimiter opens the body; the others end the previous part's bytes (§14.6).
  std::string head = index == 0 ? "--" : "\r\n--";
  head += boundary_;
  head += "\r\n";
  if (!type_.empty()) head += "Content-Type: " + type_ + "\r\n";
  head += "Content-Range: " + content_range(range, complete_length_) + "\r\n\r\n";
  return head;
}

std::string MultipartByteranges::tail() const {
  return "\r\n--" + boundary_ + "--\r\n";
}

std::uint64_t MultipartByteranges::body_length(std::span<const ByteRange> ranges) const {
  std::uint64_t total = tail().size();
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    total += part_head(i, ranges[i]).size() + ranges[i].length;
  }
  return total;
}

std::string MultipartByteranges::body(std::span<const ByteRange> ranges,
                                      std::string_view representation) const {
  std::string out;
  out.reserve(static_cast<std::size_t>(body_length(ranges)));
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    out += part_head(i, ranges[i]);
    out += representation.substr(static_cast<std::size_t>(ranges[i].first),
                                 static_cast<std::size_t>(ranges[i].length));
  }
  out += tail();
  return out;
}

std::string random_boundary() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::string bytes(16, '\0');
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    const std::uint64_t word = generator();
    for (std::size_t j = 0; j < 8; ++j) bytes[i + j] = static_cast<char>(word >> (8 * j));
  }
  return to_hex(bytes);
}

}  // namespace stoa::http
