#include "runtime/http/http_date.h"

#include <gtest/gtest.h>

namespace stoa::http {
namespace {

using namespace std::chrono;

sys_seconds utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return sys_days(year(y) / month(mo) / day(d)) + hours(h) + minutes(mi) + seconds(s);
}

const auto kNow = utc(2026, 1, 1, 0, 0, 0);

// RFC 9110 §5.6.7: the same instant in the three formats.
TEST(HttpDate, ReadsTheThreeFormatsOfTheRfc) {
  const auto expected = utc(1994, 11, 6, 8, 49, 37);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", kNow), expected);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", kNow), expected);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994", kNow), expected);
  EXPECT_EQ(parse_http_date("Sun Nov 16 08:49:37 1994", kNow), expected + days(10));
}

TEST(HttpDate, WritesImfFixdate) {
  EXPECT_EQ(format_http_date(utc(1994, 11, 6, 8, 49, 37)), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(system_clock::time_point{}), "Thu, 01 Jan 1970 00:00:00 GMT");
  // Second precision: the fraction is cut.
  EXPECT_EQ(format_http_date(utc(2024, 2, 29, 23, 59, 59) + 999ms),
            "Thu, 29 Feb 2024 23:59:59 GMT");
  std::string out = "Date: ";
  append_http_date(out, utc(2000, 1, 1, 0, 0, 0));
  EXPECT_EQ(out, "Date: Sat, 01 Jan 2000 00:00:00 GMT");
}

TEST(HttpDate, RoundTrips) {
  for (auto t : {utc(1994, 11, 6, 8, 49, 37), utc(2038, 1, 19, 3, 14, 8), utc(2262, 4, 11, 0, 0, 0),
                 utc(1900, 2, 28, 0, 0, 0)}) {
    EXPECT_EQ(parse_http_date(format_http_date(t)), t) << format_http_date(t);
  }
}

TEST(HttpDate, PutsATwoDigitYearNoMoreThanFiftyYearsAhead) {
  // §5.6.7: a year that appears to be more than 50 years in the future is in the past century.
  EXPECT_EQ(parse_http_date("Monday, 01-Jan-75 00:00:00 GMT", kNow), utc(2075, 1, 1, 0, 0, 0));
  EXPECT_EQ(parse_http_date("Sunday, 01-Jan-77 00:00:00 GMT", kNow), utc(1977, 1, 1, 0, 0, 0));
  EXPECT_EQ(parse_http_date("Saturday, 01-Jan-00 00:00:00 GMT", kNow), utc(2000, 1, 1, 0, 0, 0));
}

TEST(HttpDate, RefusesMalformedDates) {
  for (const char* text :
       {"", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT", "sun, 06 nov 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ",
        " Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sun Nov  6 08:49:37 94",
        "Sun, 29 Feb 2023 00:00:00 GMT", "Sun, 06 Nov 1994 08:49:3 GMT", "1994-11-06T08:49:37Z",
        // Valid, but past what the system clock holds.
        "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT"}) {
    EXPECT_EQ(parse_http_date(text, kNow), std::nullopt) << text;
  }
}

TEST(HttpDate, AcceptsALeapSecondAndAnyDayName) {
  // The grammar allows second 60; the day name is not checked against the date.
  EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT", kNow), utc(2017, 1, 1, 0, 0, 0));
  EXPECT_EQ(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT", kNow), utc(1994, 11, 6, 8, 49, 37));
}

}  // namespace
}  // namespace stoa::http
