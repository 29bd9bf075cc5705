#pragma once
// Proactive content negotiation (RFC 9110 §12): which of the media types and content codings a
// server can produce the client prefers, from Accept and Accept-Encoding. None acceptable:
// answer 406 (or, for codings, send identity when the client did not refuse it).
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stoa::http {

// Weights are qvalues (0 to 1, three decimals) in thousandths: 0-1000, exact.
struct MediaRange {
  std::string type{};     // lower case; "*" in "*/*"
  std::string subtype{};  // lower case; "*" in "type/*" and "*/*"
  std::vector<std::pair<std::string, std::string>> parameters{};  // name lower case, unquoted
  int weight = 1000;
};

// At most this many elements are read from an Accept or Accept-Encoding value; the rest are
// ignored.
inline constexpr std::size_t kMaxNegotiationElements = 64;

// The media ranges of an Accept value; malformed elements are skipped.
std::vector<MediaRange> parse_accept(std::string_view field);

// The offered media type ("application/json", "text/html; charset=utf-8") the client prefers:
// each offer gets the weight of the most specific range that matches it (§12.5.1), the highest
// non-zero weight wins, ties go to the earlier offer. No Accept field: the first offer.
// nullopt: none is acceptable (406).
std::optional<std::string_view> choose_media_type(std::optional<std::string_view> accept,
                                                  std::span<const std::string_view> offered);

struct Coding {
  std::string name{};  // lower case; "x-gzip" reads as "gzip" (§8.4.1.3)
  int weight = 1000;
};
std::vector<Coding> parse_accept_encoding(std::string_view field);

// The offered content coding ("br", "gzip", "identity") the client prefers, by the same
// rule (§12.5.3): an unlisted coding is not acceptable, except identity, which is unless
// "identity;q=0" or "*;q=0" (without identity) refuses it. No field: the first offer.
// nullopt: none is acceptable (406).
std::optional<std::string_view> choose_encoding(std::optional<std::string_view> accept_encoding,
                                                std::span<const std::string_view> offered);

}  // namespace stoa::http
