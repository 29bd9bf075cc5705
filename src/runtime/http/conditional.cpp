#include "runtime/http/conditional.h"

#include "runtime/http/http_date.h"

namespace stoa::http {

namespace {

std::optional<std::string> joined(const Headers& headers, std::string_view name) {
  std::optional<std::string> value;
  for (const auto& [field, text] : headers) {
    if (!iequals(field, name)) continue;
    if (value) {
      *value += ", ";
      *value += text;
    } else {
      value = text;
    }
  }
  return value;
}

bool safe_method(std::string_view method) {
  return method == "GET" || method == "HEAD";
}

// The field's list matched against the current representation; a representation without a
// tag matches only "*".
bool list_matches(const std::string& field, const Validators& current, TagSyntax syntax,
                  bool strong) {
  auto list = parse_entity_tag_list(field, syntax);
  if (!list) return false;
  if (list->any) return current.exists;
  if (!current.exists || !current.etag) return false;
  return strong ? matches_strong(*list, *current.etag) : matches_weak(*list, *current.etag);
}

// Dates compare at one-second resolution: an HTTP-date has no finer one.
std::chrono::sys_seconds whole_seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::floor<std::chrono::seconds>(time);
}

}  // namespace

Preconditions preconditions_of(const Headers& headers) {
  return Preconditions{.if_match = joined(headers, "If-Match"),
                       .if_none_match = joined(headers, "If-None-Match"),
                       .if_modified_since = joined(headers, "If-Modified-Since"),
                       .if_unmodified_since = joined(headers, "If-Unmodified-Since")};
}

Outcome evaluate_preconditions(std::string_view method, const Preconditions& conditions,
                               const Validators& current, ConditionalOptions options) {
  // Step 1 and 2.
  if (conditions.if_match) {
    if (!list_matches(*conditions.if_match, current, options.syntax, true)) return Outcome::failed;
  } else if (conditions.if_unmodified_since && current.exists && current.last_modified) {
    auto date = parse_http_date(*conditions.if_unmodified_since);
    if (date && whole_seconds(*current.last_modified) > *date) return Outcome::failed;
  }
  // Step 3 and 4.
  if (conditions.if_none_match) {
    if (list_matches(*conditions.if_none_match, current, options.syntax, false)) {
      return safe_method(method) ? Outcome::not_modified : Outcome::failed;
    }
  } else if (conditions.if_modified_since && safe_method(method) && current.exists &&
             current.last_modified) {
    auto date = parse_http_date(*conditions.if_modified_since);
    if (date && whole_seconds(*current.last_modified) <= *date) return Outcome::not_modified;
  }
  return Outcome::proceed;
}

bool if_range_holds(std::string_view if_range, const Validators& current) {
  if (!current.exists) return false;
  if (auto tag = parse_entity_tag(if_range)) {
    return current.etag && strong_compare(*tag, *current.etag);
  }
  auto date = parse_http_date(if_range);
  return date && current.last_modified && whole_seconds(*current.last_modified) == *date;
}

}  // namespace stoa::http
