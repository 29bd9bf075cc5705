#pragma once
// Conditional requests (RFC 9110 §13): If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since evaluated in §13.2.2's order against the selected representation's
// validators, and If-Range (§13.1.5) for range requests.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/http/etag.h"
#include "runtime/http_types.h"

namespace stoa::http {

// What the target resource has now.
struct Validators {
  bool exists = true;  // false: no current representation (If-Match fails, "*" included)
  std::optional<EntityTag> etag{};
  std::optional<std::chrono::system_clock::time_point> last_modified{};
};

// The four precondition fields of a request, as received; absent fields are nullopt.
struct Preconditions {
  std::optional<std::string> if_match{};
  std::optional<std::string> if_none_match{};
  std::optional<std::string> if_modified_since{};
  std::optional<std::string> if_unmodified_since{};
};
// The fields of `headers`; a field sent on several lines is joined into one list (§5.3).
Preconditions preconditions_of(const Headers& headers);

enum class Outcome {
  proceed,       // perform the method (and look at Range)
  not_modified,  // 304 (GET and HEAD only)
  failed,        // 412 Precondition Failed
};

struct ConditionalOptions {
  // How the tags of If-Match and If-None-Match are read (etag.h).
  TagSyntax syntax = TagSyntax::strict;
};

// §13.2.2: If-Match (strong comparison), else If-Unmodified-Since; then If-None-Match (weak
// comparison: 304 for GET/HEAD, 412 otherwise), else If-Modified-Since (GET/HEAD only).
// A date that does not parse is ignored, as is a date condition on a resource without a
// modification date; a malformed tag list matches nothing.
Outcome evaluate_preconditions(std::string_view method, const Preconditions& conditions,
                               const Validators& current, ConditionalOptions options = {});

// §13.1.5: whether a range request's If-Range holds, so that the range applies (otherwise the
// whole representation is sent). An entity-tag must match the current one by strong
// comparison; an HTTP-date must equal the last modification date exactly. Anything else
// (a weak tag, a malformed value) does not hold.
bool if_range_holds(std::string_view if_range, const Validators& current);

}  // namespace stoa::http
