#include "runtime/http/negotiation.h"

#include "runtime/http/detail/field_syntax.h"

namespace stoa::http {

namespace {

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
std::optional<int> qvalue(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  int value = (text[0] - '0') * 1000;
  if (text.size() == 1) return value;
  if (text[1] != '.' || text.size() > 5) return std::nullopt;
  int scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    value += (c - '0') * scale;
    scale /= 10;
  }
  if (value > 1000) return std::nullopt;
  return value;
}

// Splits `text` at `separator`s outside quoted strings.
std::vector<std::string_view> split(std::string_view text, char separator, std::size_t max) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= text.size() && parts.size() < max; ++i) {
    if (i == text.size() || (!quoted && text[i] == separator)) {
      parts.push_back(detail::trim_ows(text.substr(start, i - start)));
      start = i + 1;
    } else if (text[i] == '\\' && quoted) {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    }
  }
  return parts;
}

std::string unquote(std::string_view value) {
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') return std::string(value);
  std::string out;
  for (std::size_t i = 1; i + 1 < value.size(); ++i) {
    if (value[i] == '\\' && i + 2 < value.size()) ++i;
    out.push_back(value[i]);
  }
  return out;
}

// "type/subtype; a=b" of an offer, parsed like a range (weight unused).
std::optional<MediaRange> media_range(std::string_view element) {
  auto parts = split(element, ';', kMaxNegotiationElements);
  if (parts.empty()) return std::nullopt;
  const auto slash = parts[0].find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  MediaRange range{detail::ascii_lower(parts[0].substr(0, slash)),
                   detail::ascii_lower(parts[0].substr(slash + 1)),
                   {},
                   1000};
  if (!detail::is_token(range.type) || !detail::is_token(range.subtype)) return std::nullopt;
  if (range.type == "*" && range.subtype != "*") return std::nullopt;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const auto eq = parts[i].find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string name = detail::ascii_lower(detail::trim_ows(parts[i].substr(0, eq)));
    std::string_view value = detail::trim_ows(parts[i].substr(eq + 1));
    if (!detail::is_token(name)) return std::nullopt;
    if (name == "q") {  // the weight ends the media range's parameters
      auto weight = qvalue(value);
      if (!weight) return std::nullopt;
      range.weight = *weight;
      break;
    }
    range.parameters.emplace_back(std::move(name), unquote(value));
  }
  return range;
}

// How specifically `range` matches `offer` (higher is more specific), or -1 when it does not.
int specificity(const MediaRange& range, const MediaRange& offer) {
  if (range.type == "*") return 0;
  if (range.type != offer.type) return -1;
  if (range.subtype == "*") return 1;
  if (range.subtype != offer.subtype) return -1;
  for (const auto& parameter : range.parameters) {
    bool found = false;
    for (const auto& [name, value] : offer.parameters) {
      // Parameter values compare case-sensitively, except charset's (§8.3.2).
      if (name == parameter.first &&
          (value == parameter.second ||
           (name == "charset" &&
            detail::ascii_lower(value) == detail::ascii_lower(parameter.second)))) {
        found = true;
      }
    }
    if (!found) return -1;
  }
  return 2 + static_cast<int>(range.parameters.size());
}

// The offer the client prefers: the highest non-zero weight, the first of equals (the
// server's preference). No field: the first offer. `parse` reads the field, `weight_of` weighs
// an offer against what it read.
template <typename Parse, typename WeightOf>
std::optional<std::string_view> negotiate(std::optional<std::string_view> field,
                                          std::span<const std::string_view> offered, Parse parse,
                                          WeightOf weight_of) {
  if (offered.empty()) return std::nullopt;
  if (!field) return offered.front();
  const auto elements = parse(*field);
  std::optional<std::string_view> best;
  int best_weight = 0;
  for (std::string_view candidate : offered) {
    const int weight = weight_of(elements, candidate);
    if (weight > best_weight) {
      best_weight = weight;
      best = candidate;
    }
  }
  return best;
}

// An offered media type's weight: that of the most specific range matching it (§12.5.1).
int media_weight(const std::vector<MediaRange>& ranges, std::string_view candidate) {
  auto offer = media_range(candidate);
  if (!offer) return 0;
  int weight = 0, most_specific = -1;
  for (const auto& range : ranges) {
    const int s = specificity(range, *offer);
    if (s > most_specific) {
      most_specific = s;
      weight = range.weight;
    }
  }
  return weight;
}

// An offered coding's weight (§12.5.3): its own entry's, else "*"'s; identity is acceptable
// unless refused, at the lowest weight.
int coding_weight(const std::vector<Coding>& codings, std::string_view candidate) {
  std::string name = detail::ascii_lower(candidate);
  if (name == "x-gzip") name = "gzip";
  std::optional<int> exact, any;
  for (const auto& coding : codings) {
    if (coding.name == name && !exact) exact = coding.weight;
    if (coding.name == "*" && !any) any = coding.weight;
  }
  return exact ? *exact : any ? *any : (name == "identity" ? 1 : 0);
}

}  // namespace

std::vector<MediaRange> parse_accept(std::string_view field) {
  std::vector<MediaRange> ranges;
  for (std::string_view element : split(field, ',', kMaxNegotiationElements)) {
    if (element.empty()) continue;
    if (auto range = media_range(element)) ranges.push_back(std::move(*range));
  }
  return ranges;
}

std::optional<std::string_view> choose_media_type(std::optional<std::string_view> accept,
                                                  std::span<const std::string_view> offered) {
  return negotiate(accept, offered, parse_accept, media_weight);
}

std::vector<Coding> parse_accept_encoding(std::string_view field) {
  std::vector<Coding> codings;
  for (std::string_view element : split(field, ',', kMaxNegotiationElements)) {
    if (element.empty()) continue;
    auto parts = split(element, ';', 2);
    Coding coding{detail::ascii_lower(parts[0]), 1000};
    if (!detail::is_token(coding.name)) continue;
    if (coding.name == "x-gzip") coding.name = "gzip";
    if (parts.size() > 1) {
      const auto eq = parts[1].find('=');
      if (eq == std::string_view::npos ||
          detail::ascii_lower(detail::trim_ows(parts[1].substr(0, eq))) != "q") {
        continue;
      }
      auto weight = qvalue(detail::trim_ows(parts[1].substr(eq + 1)));
      if (!weight) continue;
      coding.weight = *weight;
    }
    codings.push_back(std::move(coding));
  }
  return codings;
}

std::optional<std::string_view> choose_encoding(std::optional<std::string_view> accept_encoding,
                                                std::span<const std::string_view> offered) {
  return negotiate(accept_encoding, offered, parse_accept_encoding, coding_weight);
}

}  // namespace stoa::http
