#include "runtime/service/json_body.h"

#include <algorithm>

#include "runtime/json.h"

namespace stoa::service {

std::size_t count_chars(std::string_view utf8) {
  return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

namespace {

// C0, DEL and C1 controls, and the Unicode line and paragraph separators.
bool has_control(std::string_view text, bool single_line) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      if (!single_line && (c == '\t' || c == '\n')) continue;
      return true;
    }
    if (c == 0xC2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9F) return true;
    }
    if (c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80) {
      const auto last = static_cast<unsigned char>(text[i + 2]);
      if (last == 0xA8 || last == 0xA9) return true;
    }
  }
  return false;
}

// U+202A–U+202E are E2 80 AA–AE in UTF-8, U+2066–U+2069 are E2 81 A6–A9.
bool has_bidi_control(std::string_view text) {
  for (std::size_t i = 0; i + 2 < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) != 0xE2) continue;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    const auto third = static_cast<unsigned char>(text[i + 2]);
    if (second == 0x80 && third >= 0xAA && third <= 0xAE) return true;
    if (second == 0x81 && third >= 0xA6 && third <= 0xA9) return true;
  }
  return false;
}

}  // namespace

Result<boost::json::object> json_object(const http::Request& request,
                                        std::initializer_list<std::string_view> allowed) {
  if (request.body.empty()) return Error{Errc::invalid_argument, "the body must be a JSON object"};
  auto parsed = json::parse(request.body,
                            json::Limits{.max_bytes = request.body.size() + 1, .max_depth = 32});
  if (!parsed) {
    // Too deep is bad input here like any other malformed document.
    return Error{Errc::invalid_argument, "the body is not valid JSON: " + parsed.error().message};
  }
  if (!parsed->is_object()) return Error{Errc::invalid_argument, "the body must be a JSON object"};
  boost::json::object object = std::move(parsed->as_object());
  for (const auto& field : object) {
    const std::string_view key(field.key().data(), field.key().size());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Error{Errc::invalid_argument,
                   "unknown field " + quote_for_message(key) + " in the body"};
    }
  }
  return object;
}

Result<std::optional<std::string>> text_field(const boost::json::object& body,
                                              std::string_view name, const TextRule& rule) {
  const std::string field(name);
  const auto* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) {
    if (rule.required) return Error{Errc::invalid_argument, field + " is required"};
    return std::optional<std::string>();
  }
  if (!value->is_string()) return Error{Errc::invalid_argument, field + " must be a string"};
  const auto& text = value->as_string();
  const std::string_view view(text.data(), text.size());
  if (view.size() > rule.max_bytes) {
    return Error{Errc::invalid_argument,
                 field + " is longer than " + std::to_string(rule.max_bytes) + " bytes"};
  }
  const std::size_t chars = count_chars(view);
  if (chars < rule.min_chars) {
    return Error{Errc::invalid_argument, rule.min_chars == 1
                                             ? field + " must not be empty"
                                             : field + " must be at least " +
                                                   std::to_string(rule.min_chars) + " characters"};
  }
  if (rule.max_chars > 0 && chars > rule.max_chars) {
    return Error{Errc::invalid_argument,
                 field + " is longer than " + std::to_string(rule.max_chars) + " characters"};
  }
  if (has_control(view, rule.single_line)) {
    return Error{Errc::invalid_argument, field + " holds a control character"};
  }
  if (rule.no_bidi_controls && has_bidi_control(view)) {
    return Error{Errc::invalid_argument,
                 field +
                     " holds a bidirectional override or isolate character (U+202A–U+202E, "
                     "U+2066–U+2069)"};
  }
  return std::optional<std::string>(std::string(view));
}

}  // namespace stoa::service
