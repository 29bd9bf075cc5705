// Fuzzes the HTTP semantics parsers (runtime/http/: entity tags, conditional requests, ranges,
// dates, Cache-Control, Retry-After, negotiation) and RFC 3339 time: the input is read as every
// kind of field. Whatever it is, no parser may crash, and what parses must survive a round
// trip: format(parse(x)) parses to the same value. A broken property aborts, which libFuzzer
// reports as a crash and the corpus replay as a failed test.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/http/cache_control.h"
#include "runtime/http/conditional.h"
#include "runtime/http/etag.h"
#include "runtime/http/http_date.h"
#include "runtime/http/negotiation.h"
#include "runtime/http/range.h"
#include "runtime/http/retry_after.h"
#include "runtime/time_format.h"

namespace {

using namespace stoa::http;
using namespace std::chrono;

void require(bool property) {
  if (!property) std::abort();
}

// A fixed "now", so that a finding replays the same way.
const system_clock::time_point kNow = sys_days(year(2026) / 1 / 1);

void entity_tags(std::string_view input) {
  for (auto syntax : {TagSyntax::strict, TagSyntax::lenient}) {
    if (auto tag = parse_entity_tag(input, syntax)) {
      require(parse_entity_tag(format_entity_tag(*tag)) == *tag);
      require(weak_compare(*tag, *tag));
      require(strong_compare(*tag, *tag) == !tag->weak);
    }
    if (auto list = parse_entity_tag_list(input, syntax)) {
      require(list->any || (!list->tags.empty() && list->tags.size() <= kMaxEntityTags));
      auto again = parse_entity_tag_list(format_entity_tag_list(*list));
      require(again && again->any == list->any && again->tags == list->tags);
      for (const auto& tag : list->tags) require(matches_weak(*list, tag));
    }
  }
  if (auto version = parse_version_etag(input)) {
    require(*version > 0 && parse_version_etag(version_etag(*version)) == version);
  }
}

void conditionals(std::string_view input) {
  const std::string field(input);
  const Validators current{.exists = !input.empty() && input.size() % 2 == 0,
                           .etag = EntityTag{"xyzzy", false},
                           .last_modified = kNow};
  for (std::string_view method : {"GET", "PUT"}) {
    const Outcome outcome = evaluate_preconditions(
        method, Preconditions{field, field, field, field}, current, {.syntax = TagSyntax::lenient});
    require(method == "GET" || outcome != Outcome::not_modified);
    evaluate_preconditions(method, Preconditions{.if_none_match = field}, current);
    evaluate_preconditions(method, Preconditions{.if_modified_since = field}, current);
  }
  if_range_holds(input, current);
}

void ranges(std::string_view input) {
  auto specs = parse_range(input);
  if (!specs) return;
  require(!specs->empty() && specs->size() <= kMaxRanges);
  require(parse_range(format_range(*specs)) == specs);
  // A length from the input, small enough to build the body in memory.
  const std::uint64_t length = input.size() * 7 % 5000;
  auto resolved = resolve_ranges(*specs, length);
  std::uint64_t end = 0;
  for (std::size_t i = 0; i < resolved.size(); ++i) {
    const ByteRange& r = resolved[i];
    require(r.length > 0 && r.first < length && r.length <= length - r.first);
    require(i == 0 || r.first > end);  // sorted, apart, not touching
    end = r.first + r.length;
  }
  for (const auto& spec : *specs) {
    if (auto one = resolve_range(spec, ~std::uint64_t{0})) require(one->length > 0);
  }
  if (!resolved.empty()) {
    const std::string representation(static_cast<std::size_t>(length), 'x');
    MultipartByteranges body(random_boundary(), "application/octet-stream", length);
    require(body.body(resolved, representation).size() == body.body_length(resolved));
  }
}

void dates(std::string_view input) {
  if (auto date = parse_http_date(input, kNow)) {
    require(*date == floor<seconds>(*date));
    require(parse_http_date(format_http_date(*date), kNow) == date);
  }
  if (auto time = stoa::parse_rfc3339(input)) {
    const auto ms = floor<milliseconds>(*time);
    require(stoa::parse_rfc3339(stoa::rfc3339_ms(*time)) == ms);
    require(stoa::parse_rfc3339(stoa::rfc3339_seconds(*time)) == floor<seconds>(*time));
  }
  if (auto wait = parse_retry_after(input, kNow)) {
    require(wait->count() >= 0);
    require(parse_retry_after(format_retry_after(duration_cast<milliseconds>(*wait)), kNow) ==
            wait);
  }
}

void cache_control(std::string_view input) {
  const CacheControl parsed = parse_cache_control(input);
  require(parse_cache_control(format_cache_control(parsed)) == parsed);
}

void negotiation(std::string_view input) {
  constexpr std::array<std::string_view, 3> types = {"application/json", "text/html;level=1",
                                                     "image/png"};
  if (auto chosen = choose_media_type(input, types)) {
    require(*chosen == types[0] || *chosen == types[1] || *chosen == types[2]);
  }
  for (const auto& range : parse_accept(input)) require(range.weight >= 0 && range.weight <= 1000);
  constexpr std::array<std::string_view, 3> codings = {"br", "gzip", "identity"};
  if (auto chosen = choose_encoding(input, codings)) {
    require(*chosen == codings[0] || *chosen == codings[1] || *chosen == codings[2]);
  }
  require(parse_accept_encoding(input).size() <= kMaxNegotiationElements);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  entity_tags(input);
  conditionals(input);
  ranges(input);
  dates(input);
  cache_control(input);
  negotiation(input);
  return 0;
}
