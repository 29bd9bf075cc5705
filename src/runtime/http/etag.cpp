#include "runtime/http/etag.h"

#include <charconv>

#include "runtime/http/detail/field_syntax.h"

namespace stoa::http {

namespace {

// etagc = %x21 / %x23-7E / obs-text
bool is_etagc(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u != 0x7f);
}

bool all_etagc(std::string_view text) {
  for (char c : text) {
    if (!is_etagc(c)) return false;
  }
  return true;
}

}  // namespace

std::string format_entity_tag(const EntityTag& tag) {
  std::string out;
  out.reserve(tag.opaque.size() + 4);
  if (tag.weak) out += "W/";
  out.push_back('"');
  out += tag.opaque;
  out.push_back('"');
  return out;
}

std::string strong_etag(std::string_view opaque) {
  return format_entity_tag(EntityTag{std::string(opaque), false});
}

std::optional<EntityTag> parse_entity_tag(std::string_view text, TagSyntax syntax) {
  text = detail::trim_ows(text);
  EntityTag tag;
  if (text.starts_with("W/")) {
    tag.weak = true;
    text.remove_prefix(2);
  }
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  } else if (syntax == TagSyntax::strict || tag.weak || text.empty()) {
    return std::nullopt;
  }
  if (!all_etagc(text)) return std::nullopt;
  tag.opaque = std::string(text);
  return tag;
}

bool strong_compare(const EntityTag& a, const EntityTag& b) {
  return !a.weak && !b.weak && a.opaque == b.opaque;
}

bool weak_compare(const EntityTag& a, const EntityTag& b) {
  return a.opaque == b.opaque;
}

std::optional<EntityTagList> parse_entity_tag_list(std::string_view text, TagSyntax syntax) {
  text = detail::trim_ows(text);
  EntityTagList list;
  if (text == "*") {
    list.any = true;
    return list;
  }
  // etagc includes ',': a comma separates elements only outside quotes.
  while (!text.empty()) {
    std::size_t end = 0;
    bool quoted = false;
    while (end < text.size() && (quoted || text[end] != ',')) {
      if (text[end] == '"') quoted = !quoted;
      ++end;
    }
    std::string_view element = detail::trim_ows(text.substr(0, end));
    text.remove_prefix(end == text.size() ? end : end + 1);
    if (element.empty()) continue;  // "a, , b" and a trailing comma are allowed
    if (list.tags.size() == kMaxEntityTags) return std::nullopt;
    auto tag = parse_entity_tag(element, syntax);
    if (!tag) return std::nullopt;
    list.tags.push_back(std::move(*tag));
  }
  if (list.tags.empty()) return std::nullopt;
  return list;
}

std::string format_entity_tag_list(const EntityTagList& list) {
  if (list.any) return "*";
  std::string out;
  for (const auto& tag : list.tags) {
    if (!out.empty()) out += ", ";
    out += format_entity_tag(tag);
  }
  return out;
}

bool matches_strong(const EntityTagList& list, const EntityTag& current) {
  if (list.any) return true;
  for (const auto& tag : list.tags) {
    if (strong_compare(tag, current)) return true;
  }
  return false;
}

bool matches_weak(const EntityTagList& list, const EntityTag& current) {
  if (list.any) return true;
  for (const auto& tag : list.tags) {
    if (weak_compare(tag, current)) return true;
  }
  return false;
}

std::string version_etag(std::int64_t version) {
  return strong_etag(std::to_string(version));
}

std::optional<std::int64_t> parse_version_etag(std::string_view text) {
  auto tag = parse_entity_tag(text);
  if (!tag) return std::nullopt;
  const std::string& digits = tag->opaque;
  std::int64_t version = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (ec != std::errc() || end != digits.data() + digits.size() || version < 1) {
    return std::nullopt;
  }
  return version;
}

}  // namespace stoa::http
