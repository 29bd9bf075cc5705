#pragma once
// Byte ranges (RFC 9110 §14): the `Range: bytes=…` field, its resolution against a
// representation's length (206 with Content-Range, or 416 with `Content-Range: bytes */len`),
// and the multipart/byteranges body (§14.6) that carries several ranges in one response.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::http {

// One range-spec before it meets a length: first-last, first- (open-ended) or -suffix.
// Exactly one of `first` and `suffix` is set; `last` only with `first`.
struct RangeSpec {
  std::optional<std::uint64_t> first{};
  std::optional<std::uint64_t> last{};
  std::optional<std::uint64_t> suffix{};

  friend bool operator==(const RangeSpec&, const RangeSpec&) = default;
};

// Selected bytes of a representation: [first, first + length).
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;

  std::uint64_t last() const { return first + length - 1; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

// Against abuse (§14.2 lets a server ignore such a field): more range-specs than this, and the
// field is ignored.
inline constexpr std::size_t kMaxRanges = 32;

// The range-specs of a `bytes=` field value, in order. nullopt when the field is to be ignored
// (§14.2): another unit, a malformed spec (first > last included), a number that overflows, no
// spec, or more than `max_ranges` of them.
std::optional<std::vector<RangeSpec>> parse_range(std::string_view field,
                                                  std::size_t max_ranges = kMaxRanges);
std::string format_range(std::span<const RangeSpec> specs);

// The bytes `spec` selects in a representation of `length` bytes; nullopt when unsatisfiable
// (§14.1.1: a first position at or past the end, a zero suffix, or an empty representation).
std::optional<ByteRange> resolve_range(const RangeSpec& spec, std::uint64_t length);
// The satisfiable specs of a set, resolved, sorted and with overlapping or adjacent ranges
// coalesced (§14.2 allows it; a client cannot make the server send a byte twice). Empty when
// none is satisfiable: answer 416.
std::vector<ByteRange> resolve_ranges(std::span<const RangeSpec> specs, std::uint64_t length);

// "bytes 500-999/8000" and, for a 416, "bytes */8000".
std::string content_range(const ByteRange& range, std::uint64_t complete_length);
std::string unsatisfied_content_range(std::uint64_t complete_length);

// A multipart/byteranges body, written part by part so that the bytes can be streamed:
//   part_head(0) bytes(0) part_head(1) bytes(1) … tail()
class MultipartByteranges {
 public:
  // `boundary`: 1-70 characters of RFC 2046's bchars, not ending with a space (random_boundary()
  // makes one that no representation is likely to contain).
  MultipartByteranges(std::string boundary, std::string content_type,
                      std::uint64_t complete_length);

  // The response's Content-Type: "multipart/byteranges; boundary=…".
  std::string content_type() const;
  // The delimiter and headers before part `index`'s bytes.
  std::string part_head(std::size_t index, const ByteRange& range) const;
  // The close delimiter after the last part.
  std::string tail() const;
  // The whole body's length (the response's Content-Length).
  std::uint64_t body_length(std::span<const ByteRange> ranges) const;
  // The whole body, from a representation held in memory.
  std::string body(std::span<const ByteRange> ranges, std::string_view representation) const;

 private:
  std::string boundary_;
  std::string type_;
  std::uint64_t complete_length_;
};

// 32 random hex digits.
std::string random_boundary();

}  // namespace stoa::http
