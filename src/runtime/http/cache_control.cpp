#include "runtime/http/cache_control.h"

#include <charconv>

#include "runtime/http/detail/field_syntax.h"

namespace stoa::http {

namespace {

using std::chrono::seconds;

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// A cursor over the field value.
struct Reader {
  std::string_view text;

  void skip_space() {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  }
  std::string_view token() {
    std::size_t n = 0;
    while (n < text.size() && detail::is_tchar(text[n])) ++n;
    std::string_view out = text.substr(0, n);
    text.remove_prefix(n);
    return out;
  }
  // quoted-string with its quoted-pairs undone; nullopt when it does not close.
  std::optional<std::string> quoted() {
    std::string out;
    text.remove_prefix(1);  // the opening quote
    while (!text.empty()) {
      char c = text.front();
      text.remove_prefix(1);
      if (c == '"') return out;
      if (c == '\\') {
        if (text.empty()) return std::nullopt;
        c = text.front();
        text.remove_prefix(1);
      }
      out.push_back(c);
    }
    return std::nullopt;
  }
  // Skips to just past the next comma (or to the end): the rest of a malformed member.
  void skip_member() {
    bool in_quotes = false;
    while (!text.empty()) {
      char c = text.front();
      text.remove_prefix(1);
      if (in_quotes && c == '\\' && !text.empty()) {
        text.remove_prefix(1);
      } else if (c == '"') {
        in_quotes = !in_quotes;
      } else if (c == ',' && !in_quotes) {
        return;
      }
    }
  }
};

// delta-seconds, clamped; an invalid value reads as 0 (stale).
seconds delta(const std::optional<std::string>& value) {
  if (!value || value->empty()) return seconds(0);
  for (char c : *value) {
    if (c < '0' || c > '9') return seconds(0);
  }
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec == std::errc::result_out_of_range ||
      n > static_cast<std::uint64_t>(kMaxDeltaSeconds.count())) {
    return kMaxDeltaSeconds;
  }
  return seconds(static_cast<seconds::rep>(n));
}

void set_once(std::optional<seconds>& slot, const std::optional<std::string>& value) {
  if (!slot) slot = delta(value);
}

// The field names of a qualified no-cache or private: a comma-separated list.
std::vector<std::string> field_names(const std::string& value) {
  std::vector<std::string> names;
  std::string_view rest = value;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view name = detail::trim_ows(rest.substr(0, comma));
    rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    // Field names are tokens; anything else is noise.
    if (detail::is_token(name)) names.push_back(detail::ascii_lower(name));
  }
  return names;
}

void apply(CacheControl& cc, const std::string& name, const std::optional<std::string>& value) {
  if (name == "max-age") return set_once(cc.max_age, value);
  if (name == "s-maxage") return set_once(cc.s_maxage, value);
  if (name == "min-fresh") return set_once(cc.min_fresh, value);
  if (name == "stale-while-revalidate") return set_once(cc.stale_while_revalidate, value);
  if (name == "stale-if-error") return set_once(cc.stale_if_error, value);
  if (name == "max-stale") {
    if (cc.max_stale || cc.max_stale_any) return;
    if (value) {
      cc.max_stale = delta(value);
    } else {
      cc.max_stale_any = true;
    }
    return;
  }
  if (name == "no-cache") {
    if (!cc.no_cache && value) cc.no_cache_fields = field_names(*value);
    cc.no_cache = true;
    return;
  }
  if (name == "private") {
    if (!cc.is_private && value) cc.private_fields = field_names(*value);
    cc.is_private = true;
    return;
  }
  static const std::pair<std::string_view, bool CacheControl::*> flags[] = {
      {"no-store", &CacheControl::no_store},
      {"no-transform", &CacheControl::no_transform},
      {"only-if-cached", &CacheControl::only_if_cached},
      {"must-revalidate", &CacheControl::must_revalidate},
      {"proxy-revalidate", &CacheControl::proxy_revalidate},
      {"must-understand", &CacheControl::must_understand},
      {"public", &CacheControl::is_public},
      {"immutable", &CacheControl::immutable}};
  for (const auto& [flag, member] : flags) {
    if (name == flag) {
      cc.*member = true;
      return;
    }
  }
  cc.extensions.emplace_back(name, value.value_or(""));
}

// A value as a token when it is one, otherwise as a quoted-string.
void append_value(std::string& out, std::string_view value) {
  if (detail::is_token(value)) {
    out += value;
    return;
  }
  out.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

void append_fields(std::string& out, const std::vector<std::string>& names) {
  std::string list;
  for (const auto& name : names) {
    if (!list.empty()) list += ", ";
    list += name;
  }
  out += "=\"" + list + "\"";
}

}  // namespace

CacheControl parse_cache_control(std::string_view field) {
  CacheControl cc;
  Reader r{field};
  std::size_t members = 0;
  while (!r.text.empty() && members < kMaxCacheDirectives) {
    r.skip_space();
    if (!r.text.empty() && r.text.front() == ',') {  // an empty list element
      r.text.remove_prefix(1);
      continue;
    }
    if (r.text.empty()) break;
    ++members;
    std::string_view name = r.token();
    r.skip_space();
    std::optional<std::string> value;
    bool ok = !name.empty();
    if (ok && !r.text.empty() && r.text.front() == '=') {
      r.text.remove_prefix(1);
      r.skip_space();
      if (!r.text.empty() && r.text.front() == '"') {
        value = r.quoted();
        ok = value.has_value();
      } else {
        std::string_view token = r.token();
        ok = !token.empty();
        value = std::string(token);
      }
      r.skip_space();
    }
    if (ok && !r.text.empty() && r.text.front() != ',') ok = false;
    if (!ok) {
      r.skip_member();
      continue;
    }
    if (!r.text.empty()) r.text.remove_prefix(1);  // the comma
    apply(cc, detail::ascii_lower(name), value);
  }
  return cc;
}

std::string format_cache_control(const CacheControl& cc) {
  std::string out;
  auto directive = [&](std::string_view name) -> std::string& {
    if (!out.empty()) out += ", ";
    out += name;
    return out;
  };
  auto number = [&](std::string_view name, const std::optional<seconds>& value) {
    if (value) directive(name) += "=" + std::to_string(value->count());
  };
  number("max-age", cc.max_age);
  number("s-maxage", cc.s_maxage);
  if (cc.max_stale_any) directive("max-stale");
  number("max-stale", cc.max_stale);
  number("min-fresh", cc.min_fresh);
  number("stale-while-revalidate", cc.stale_while_revalidate);
  number("stale-if-error", cc.stale_if_error);
  if (cc.no_cache) {
    directive("no-cache");
    if (!cc.no_cache_fields.empty()) append_fields(out, cc.no_cache_fields);
  }
  if (cc.no_store) directive("no-store");
  if (cc.no_transform) directive("no-transform");
  if (cc.only_if_cached) directive("only-if-cached");
  if (cc.must_revalidate) directive("must-revalidate");
  if (cc.proxy_revalidate) directive("proxy-revalidate");
  if (cc.must_understand) directive("must-understand");
  if (cc.is_private) {
    directive("private");
    if (!cc.private_fields.empty()) append_fields(out, cc.private_fields);
  }
  if (cc.is_public) directive("public");
  if (cc.immutable) directive("immutable");
  for (const auto& [name, value] : cc.extensions) {
    directive(name);
    if (!value.empty()) {
      out.push_back('=');
      append_value(out, value);
    }
  }
  return out;
}

}  // namespace stoa::http
