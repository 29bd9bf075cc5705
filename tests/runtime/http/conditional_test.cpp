#include "runtime/http/conditional.h"

#include <gtest/gtest.h>

#include "runtime/http/http_date.h"

namespace stoa::http {
namespace {

using namespace std::chrono;

const auto kModified = sys_days(year(1994) / 11 / 6) + hours(8) + minutes(49) + seconds(37);

// A representation tagged "xyzzy", last modified Sun, 06 Nov 1994 08:49:37 GMT (plus a
// fraction, which HTTP dates cannot express).
Validators current() {
  return Validators{.exists = true,
                    .etag = EntityTag{"xyzzy", false},
                    .last_modified = kModified + milliseconds(250)};
}

constexpr const char* kAtModification = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr const char* kBefore = "Sun, 06 Nov 1994 08:49:36 GMT";
constexpr const char* kAfter = "Sun, 06 Nov 1994 08:49:38 GMT";

Outcome evaluate(std::string_view method, Preconditions conditions,
                 Validators validators = current()) {
  return evaluate_preconditions(method, conditions, validators);
}

TEST(Conditional, NoConditionsProceed) {
  EXPECT_EQ(evaluate("GET", {}), Outcome::proceed);
  EXPECT_EQ(evaluate("PUT", {}, Validators{.exists = false}), Outcome::proceed);
}

// §13.1.1: If-Match uses strong comparison; "*" needs a current representation.
TEST(Conditional, IfMatch) {
  EXPECT_EQ(evaluate("PUT", {.if_match = "\"xyzzy\""}), Outcome::proceed);
  EXPECT_EQ(evaluate("PUT", {.if_match = "\"a\", \"xyzzy\""}), Outcome::proceed);
  EXPECT_EQ(evaluate("PUT", {.if_match = "W/\"xyzzy\""}), Outcome::failed);
  EXPECT_EQ(evaluate("PUT", {.if_match = "\"other\""}), Outcome::failed);
  EXPECT_EQ(evaluate("PUT", {.if_match = "*"}), Outcome::proceed);
  EXPECT_EQ(evaluate("PUT", {.if_match = "*"}, Validators{.exists = false}), Outcome::failed);
  EXPECT_EQ(evaluate("PUT", {.if_match = "\"xyzzy\""}, Validators{.exists = false}),
            Outcome::failed);
  // A malformed list matches nothing.
  EXPECT_EQ(evaluate("PUT", {.if_match = "xyzzy"}), Outcome::failed);
  // A GET can fail its precondition too.
  EXPECT_EQ(evaluate("GET", {.if_match = "\"other\""}), Outcome::failed);
}

// §13.1.2: If-None-Match uses weak comparison; 304 for GET/HEAD, 412 otherwise.
TEST(Conditional, IfNoneMatch) {
  EXPECT_EQ(evaluate("GET", {.if_none_match = "\"xyzzy\""}), Outcome::not_modified);
  EXPECT_EQ(evaluate("HEAD", {.if_none_match = "W/\"xyzzy\""}), Outcome::not_modified);
  EXPECT_EQ(evaluate("GET", {.if_none_match = "\"other\""}), Outcome::proceed);
  EXPECT_EQ(evaluate("PUT", {.if_none_match = "*"}), Outcome::failed);
  EXPECT_EQ(evaluate("PUT", {.if_none_match = "*"}, Validators{.exists = false}), Outcome::proceed);
  EXPECT_EQ(evaluate("DELETE", {.if_none_match = "W/\"xyzzy\""}), Outcome::failed);
  EXPECT_EQ(evaluate("GET", {.if_none_match = "\"x"}), Outcome::proceed);
}

// §13.1.3 and §13.1.4: dates compare at one-second resolution.
TEST(Conditional, ModificationDates) {
  EXPECT_EQ(evaluate("GET", {.if_modified_since = kAtModification}), Outcome::not_modified);
  EXPECT_EQ(evaluate("GET", {.if_modified_since = kAfter}), Outcome::not_modified);
  EXPECT_EQ(evaluate("GET", {.if_modified_since = kBefore}), Outcome::proceed);
  // Only GET and HEAD look at If-Modified-Since.
  EXPECT_EQ(evaluate("POST", {.if_modified_since = kAfter}), Outcome::proceed);
  EXPECT_EQ(evaluate("PUT", {.if_unmodified_since = kAtModification}), Outcome::proceed);
  EXPECT_EQ(evaluate("PUT", {.if_unmodified_since = kBefore}), Outcome::failed);
  EXPECT_EQ(evaluate("GET", {.if_unmodified_since = kBefore}), Outcome::failed);
  // An invalid date is ignored, and so is a date against a resource without one.
  EXPECT_EQ(evaluate("PUT", {.if_unmodified_since = "yesterday"}), Outcome::proceed);
  EXPECT_EQ(evaluate("GET", {.if_modified_since = "yesterday"}), Outcome::proceed);
  Validators undated = current();
  undated.last_modified.reset();
  EXPECT_EQ(evaluate("PUT", {.if_unmodified_since = kBefore}, undated), Outcome::proceed);
  EXPECT_EQ(evaluate("GET", {.if_modified_since = kAfter}, undated), Outcome::proceed);
  // The obsolete formats count as dates.
  EXPECT_EQ(evaluate("GET", {.if_modified_since = "Sun Nov  6 08:49:37 1994"}),
            Outcome::not_modified);
}

// §13.2.2: If-Match wins over If-Unmodified-Since, If-None-Match over If-Modified-Since.
TEST(Conditional, EvaluatesInTheRfcOrder) {
  EXPECT_EQ(evaluate("PUT", {.if_match = "\"xyzzy\"", .if_unmodified_since = kBefore}),
            Outcome::proceed);
  EXPECT_EQ(evaluate("GET", {.if_none_match = "\"other\"", .if_modified_since = kAfter}),
            Outcome::proceed);
  EXPECT_EQ(evaluate("GET", {.if_none_match = "\"xyzzy\"", .if_modified_since = kBefore}),
            Outcome::not_modified);
  // A failed If-Match comes before a matching If-None-Match: 412, not 304.
  EXPECT_EQ(evaluate("GET", {.if_match = "\"other\"", .if_none_match = "\"xyzzy\""}),
            Outcome::failed);
  EXPECT_EQ(evaluate("GET", {.if_none_match = "\"xyzzy\"", .if_unmodified_since = kBefore}),
            Outcome::failed);
}

TEST(Conditional, LenientSyntaxReadsBareTags) {
  EXPECT_EQ(evaluate_preconditions("GET", {.if_match = "xyzzy"}, current(),
                                   {.syntax = TagSyntax::lenient}),
            Outcome::proceed);
  EXPECT_EQ(evaluate_preconditions("GET", {.if_none_match = "other, xyzzy"}, current(),
                                   {.syntax = TagSyntax::lenient}),
            Outcome::not_modified);
}

TEST(Conditional, ReadsTheFieldsOfARequest) {
  Headers headers;
  headers.add("if-match", "\"a\"");
  headers.add("If-Match", "\"b\"");
  headers.add("If-Modified-Since", kAfter);
  Preconditions p = preconditions_of(headers);
  EXPECT_EQ(p.if_match, "\"a\", \"b\"");
  EXPECT_EQ(p.if_modified_since, kAfter);
  EXPECT_EQ(p.if_none_match, std::nullopt);
  EXPECT_EQ(p.if_unmodified_since, std::nullopt);
}

// §13.1.5.
TEST(Conditional, IfRange) {
  EXPECT_TRUE(if_range_holds("\"xyzzy\"", current()));
  EXPECT_FALSE(if_range_holds("W/\"xyzzy\"", current()));
  EXPECT_FALSE(if_range_holds("\"other\"", current()));
  EXPECT_TRUE(if_range_holds(kAtModification, current()));
  EXPECT_FALSE(if_range_holds(kAfter, current()));
  EXPECT_FALSE(if_range_holds(kBefore, current()));
  EXPECT_FALSE(if_range_holds("garbage", current()));
  EXPECT_FALSE(if_range_holds("\"xyzzy\"", Validators{.exists = false}));
  Validators untagged = current();
  untagged.etag.reset();
  EXPECT_FALSE(if_range_holds("\"xyzzy\"", untagged));
}

}  // namespace
}  // namespace stoa::http
