#include "runtime/time_format.h"

#include <gtest/gtest.h>

namespace stoa {
namespace {

using namespace std::chrono;

sys_seconds utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return sys_days(year(y) / month(mo) / day(d)) + hours(h) + minutes(mi) + seconds(s);
}

TEST(TimeFormat, FormatsUtcWithMilliseconds) {
  const auto t = utc(2024, 2, 29, 23, 59, 58) + 7ms;
  EXPECT_EQ(rfc3339_ms(t), "2024-02-29T23:59:58.007Z");
  EXPECT_EQ(rfc3339_ms(t + 2s + 993ms), "2024-03-01T00:00:01.000Z");
  EXPECT_EQ(rfc3339_ms(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  // Sub-millisecond precision is cut, never rounded into the next millisecond.
  EXPECT_EQ(rfc3339_ms(utc(2000, 1, 1, 0, 0, 0) + 999999us), "2000-01-01T00:00:00.999Z");
  // Before 1970 the millisecond is floored too.
  EXPECT_EQ(rfc3339_ms(system_clock::time_point{} - 1ms), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(rfc3339_seconds(utc(1985, 4, 12, 23, 20, 50) + 520ms), "1985-04-12T23:20:50Z");
  std::string line = "at ";
  append_rfc3339_ms(line, utc(2026, 11, 26, 0, 5, 0));
  EXPECT_EQ(line, "at 2026-11-26T00:05:00.000Z");
}

// RFC 3339 §5.8's examples.
TEST(TimeFormat, ParsesTheRfcExamples) {
  EXPECT_EQ(parse_rfc3339("1985-04-12T23:20:50.52Z"), utc(1985, 4, 12, 23, 20, 50) + 520ms);
  // 16:39:57-08:00 is 00:39:57 the next day in UTC.
  EXPECT_EQ(parse_rfc3339("1996-12-19T16:39:57-08:00"), utc(1996, 12, 20, 0, 39, 57));
  // A leap second: the last second of 1990 in UTC, and the same instant in Pacific time.
  EXPECT_EQ(parse_rfc3339("1990-12-31T23:59:60Z"), utc(1991, 1, 1, 0, 0, 0));
  EXPECT_EQ(parse_rfc3339("1990-12-31T15:59:60-08:00"), utc(1991, 1, 1, 0, 0, 0));
  EXPECT_EQ(parse_rfc3339("1937-01-01T12:00:27.87+00:20"), utc(1937, 1, 1, 11, 40, 27) + 870ms);
}

TEST(TimeFormat, ParsingRoundTripsWhatItFormats) {
  for (system_clock::time_point t :
       {utc(2024, 2, 29, 23, 59, 58) + 7ms, utc(1970, 1, 1, 0, 0, 0) + 0ms,
        utc(2262, 4, 11, 0, 0, 0) + 999ms, utc(1678, 1, 1, 12, 0, 0) + 0ms}) {
    EXPECT_EQ(parse_rfc3339(rfc3339_ms(t)), t) << rfc3339_ms(t);
  }
  EXPECT_EQ(parse_rfc3339("2026-11-26t00:05:00.123456789z"),
            utc(2026, 11, 26, 0, 5, 0) + duration_cast<system_clock::duration>(123456789ns));
}

TEST(TimeFormat, RefusesWhatIsNotRfc3339) {
  for (const char* text :
       {"", "2026-13-26T00:05:00Z", "2026-11-26 00:05:00Z", "2026-11-26T00:05:00",
        "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-26T24:00:00Z",
        "2026-11-26T00:60:00Z", "2026-11-26T00:00:61Z", "2026-11-26T00:05:00.Z",
        "2026-11-26T00:05:00.1234567890Z", "2026-11-26T00:05:00+24:00", "2026-11-26T00:05:00+02:60",
        "2026-11-26T00:05:00+0200", "2026-11-26T00:05:00Zjunk", "+026-11-26T00:05:00Z",
        "2026-1a-26T00:05:00Z", "2026-11-26T00:05:00 Z",
        // Valid, but past what the system clock holds.
        "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"}) {
    EXPECT_EQ(parse_rfc3339(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace stoa
