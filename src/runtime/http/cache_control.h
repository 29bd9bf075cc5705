#pragma once
// Cache-Control (RFC 9111 §5.2) of requests and responses: the directives a cache and an
// origin act on, parsed once. Unknown directives are kept (§5.2.3: a cache ignores what it
// does not understand, a proxy passes it on).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stoa::http {

struct CacheControl {
  // delta-seconds directives. A value that is not a number reads as 0 (RFC 9111 §4.2.1
  // encourages treating invalid freshness information as stale); one past 2^31 as 2^31
  // (§1.2.2).
  std::optional<std::chrono::seconds> max_age{};
  std::optional<std::chrono::seconds> s_maxage{};
  std::optional<std::chrono::seconds> max_stale{};  // request; `max-stale` alone: any staleness
  bool max_stale_any = false;
  std::optional<std::chrono::seconds> min_fresh{};               // request
  std::optional<std::chrono::seconds> stale_while_revalidate{};  // RFC 5861
  std::optional<std::chrono::seconds> stale_if_error{};          // RFC 5861

  bool no_cache = false;
  std::vector<std::string> no_cache_fields{};  // no-cache="Set-Cookie, X-Foo" (response)
  bool no_store = false;
  bool no_transform = false;
  bool only_if_cached = false;  // request
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool must_understand = false;
  bool is_private = false;
  std::vector<std::string> private_fields{};  // private="Set-Cookie"
  bool is_public = false;
  bool immutable = false;  // RFC 8246

  // Directives this parser does not know, in order: lower-case name, unquoted value ("" when
  // the directive has none).
  std::vector<std::pair<std::string, std::string>> extensions{};

  friend bool operator==(const CacheControl&, const CacheControl&) = default;
};

// At most this many directives are read from one field value; the rest is ignored.
inline constexpr std::size_t kMaxCacheDirectives = 64;
inline constexpr std::chrono::seconds kMaxDeltaSeconds{2147483648LL};

// Directive names are case-insensitive; values may be tokens or quoted strings (§5.2: a
// recipient accepts both). A known directive that appears twice keeps its first occurrence
// (§4.2.1). Malformed members are skipped; parsing never fails. Several field lines are
// one list: join them with ", " first.
CacheControl parse_cache_control(std::string_view field);
// The canonical field value: known directives first, in this struct's order, then extensions.
std::string format_cache_control(const CacheControl& directives);

}  // namespace stoa::http
