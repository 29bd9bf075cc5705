#include "runtime/http/retry_after.h"

#include <gtest/gtest.h>

namespace stoa::http {
namespace {

using namespace std::chrono;

const auto kNow = sys_days(year(1999) / 12 / 31) + hours(23);

// RFC 9110 §10.2.3's examples.
TEST(RetryAfter, ReadsTheRfcExamples) {
  EXPECT_EQ(parse_retry_after("Fri, 31 Dec 1999 23:59:59 GMT", kNow), seconds(59 * 60 + 59));
  EXPECT_EQ(parse_retry_after("120", kNow), seconds(120));
}

TEST(RetryAfter, Writes) {
  EXPECT_EQ(format_retry_after(milliseconds(120000)), "120");
  // Rounded up: a client must not come back before the wait is over.
  EXPECT_EQ(format_retry_after(milliseconds(1)), "1");
  EXPECT_EQ(format_retry_after(milliseconds(1001)), "2");
  EXPECT_EQ(format_retry_after(milliseconds(0)), "0");
  EXPECT_EQ(format_retry_after(milliseconds(-5)), "0");
  EXPECT_EQ(format_retry_after(system_clock::time_point(kNow)), "Fri, 31 Dec 1999 23:00:00 GMT");
}

TEST(RetryAfter, EdgeCases) {
  EXPECT_EQ(parse_retry_after("Fri, 31 Dec 1999 22:00:00 GMT", kNow), seconds(0));  // past
  EXPECT_EQ(parse_retry_after(" 0 ", kNow), seconds(0));
  EXPECT_EQ(parse_retry_after("99999999999999999999999", kNow), seconds(2147483648LL));
  for (const char* text : {"", "-1", "1.5", "12s", "+5", "soon", "1 2"}) {
    EXPECT_EQ(parse_retry_after(text, kNow), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace stoa::http
