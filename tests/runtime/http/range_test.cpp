#include "runtime/http/range.h"

#include <gtest/gtest.h>

namespace stoa::http {
namespace {

RangeSpec span(std::uint64_t first, std::uint64_t last) {
  return RangeSpec{.first = first, .last = last};
}
RangeSpec from(std::uint64_t first) {
  return RangeSpec{.first = first};
}
RangeSpec suffix(std::uint64_t n) {
  return RangeSpec{.suffix = n};
}

// RFC 9110 §14.1.2's examples, for a representation of 10000 bytes.
TEST(Range, ParsesAndResolvesTheRfcExamples) {
  auto first_500 = parse_range("bytes=0-499");
  ASSERT_TRUE(first_500);
  EXPECT_EQ(*first_500, std::vector{span(0, 499)});
  EXPECT_EQ(resolve_range(first_500->front(), 10000), (ByteRange{0, 500}));
  EXPECT_EQ(resolve_range(span(500, 999), 10000), (ByteRange{500, 500}));
  // The final 500 bytes, three ways.
  EXPECT_EQ(parse_range("bytes=-500"), std::vector{suffix(500)});
  EXPECT_EQ(parse_range("bytes=9500-"), std::vector{from(9500)});
  EXPECT_EQ(resolve_range(suffix(500), 10000), (ByteRange{9500, 500}));
  EXPECT_EQ(resolve_range(from(9500), 10000), (ByteRange{9500, 500}));
  // First and last bytes only.
  EXPECT_EQ(parse_range("bytes=0-0,-1"), (std::vector{span(0, 0), suffix(1)}));
  EXPECT_EQ(resolve_ranges(*parse_range("bytes=0-0,-1"), 10000),
            (std::vector{ByteRange{0, 1}, ByteRange{9999, 1}}));
  // Other valid (but not canonical) specifications of the second 500 bytes.
  EXPECT_EQ(resolve_ranges(*parse_range("bytes=500-600,601-999"), 10000),
            std::vector{(ByteRange{500, 500})});
  EXPECT_EQ(resolve_ranges(*parse_range("bytes=500-700,601-999"), 10000),
            std::vector{(ByteRange{500, 500})});
}

TEST(Range, ReadsWhitespaceEmptyElementsAndAnyCaseUnit) {
  EXPECT_EQ(parse_range("Bytes= 1-2 , ,-3 ,"), (std::vector{span(1, 2), suffix(3)}));
  EXPECT_EQ(format_range(std::vector{span(1, 2), from(5), suffix(3)}), "bytes=1-2,5-,-3");
}

TEST(Range, IgnoresMalformedFields) {
  for (const char* text :
       {"", "bytes=", "bytes=,", "items=0-1", "bytes 0-1", "bytes=1", "bytes=-", "bytes=a-b",
        "bytes=2-1", "bytes=1-2-3", "bytes=--1", "bytes=+1-2", "bytes=0-18446744073709551616",
        "bytes=18446744073709551616-", "bytes=-99999999999999999999", "bytes=1 -2"}) {
    EXPECT_EQ(parse_range(text), std::nullopt) << text;
  }
  EXPECT_EQ(parse_range("bytes=0-18446744073709551615"),
            std::vector{span(0, 18446744073709551615ULL)});
}

// §14.2 lets a server ignore a field with too many ranges.
TEST(Range, BoundsTheNumberOfRanges) {
  std::string field = "bytes=";
  for (std::size_t i = 0; i < kMaxRanges; ++i)
    field += std::to_string(i) + "-" + std::to_string(i) + ",";
  EXPECT_EQ(parse_range(field)->size(), kMaxRanges);
  EXPECT_EQ(parse_range(field + "99-"), std::nullopt);
  EXPECT_EQ(parse_range(field, 4), std::nullopt);
  // Tens of thousands of tiny ranges are refused without being resolved.
  std::string huge = "bytes=";
  for (int i = 0; i < 20000; ++i) huge += "0-0,";
  EXPECT_EQ(parse_range(huge), std::nullopt);
}

// §14.1.1: satisfiability against the current length.
TEST(Range, ResolvesAgainstALength) {
  EXPECT_EQ(resolve_range(span(8, 100), 10), (ByteRange{8, 2}));
  EXPECT_EQ(resolve_range(suffix(30), 10), (ByteRange{0, 10}));
  EXPECT_EQ(resolve_range(from(10), 10), std::nullopt);
  EXPECT_EQ(resolve_range(suffix(0), 10), std::nullopt);
  EXPECT_EQ(resolve_range(span(0, 0), 0), std::nullopt);
  EXPECT_EQ(resolve_range(suffix(5), 0), std::nullopt);
  EXPECT_EQ(resolve_range(span(5, 4), 10), std::nullopt);
  EXPECT_EQ(resolve_range(span(0, 18446744073709551615ULL), 18446744073709551615ULL),
            (ByteRange{0, 18446744073709551615ULL}));
  // Unsatisfiable specs drop out of a set; none left is a 416.
  EXPECT_EQ(resolve_ranges(std::vector{from(20), span(2, 3)}, 10), std::vector{(ByteRange{2, 2})});
  EXPECT_TRUE(resolve_ranges(std::vector{from(20), suffix(0)}, 10).empty());
}

TEST(Range, CoalescesOverlappingAndAdjacentRanges) {
  // A client cannot make the server send the same bytes many times over.
  EXPECT_EQ(resolve_ranges(std::vector{span(0, 9), span(0, 9), suffix(10)}, 10),
            std::vector{(ByteRange{0, 10})});
  EXPECT_EQ(resolve_ranges(std::vector{span(6, 7), span(0, 1), span(2, 3)}, 10),
            (std::vector{ByteRange{0, 4}, ByteRange{6, 2}}));
}

TEST(Range, WritesContentRange) {
  EXPECT_EQ(content_range(ByteRange{0, 500}, 8000), "bytes 0-499/8000");
  EXPECT_EQ(content_range(ByteRange{7000, 1000}, 8000), "bytes 7000-7999/8000");
  EXPECT_EQ(unsatisfied_content_range(8000), "bytes */8000");
}

// §14.6's example: ranges 500-999 and 7000-7999 of an 8000-byte application/pdf.
TEST(Range, WritesTheMultipartByterangesExample) {
  std::string pdf(8000, 'x');
  for (std::size_t i = 500; i < 1000; ++i) pdf[i] = 'a';
  for (std::size_t i = 7000; i < 8000; ++i) pdf[i] = 'b';
  MultipartByteranges body("THIS_STRING_SEPARATES", "application/pdf", 8000);
  EXPECT_EQ(body.content_type(), "multipart/byteranges; boundary=THIS_STRING_SEPARATES");
  const std::vector ranges{ByteRange{500, 500}, ByteRange{7000, 1000}};
  const std::string expected =
      "--THIS_STRING_SEPARATES\r\n"
      "Content-Type: application/pdf\r\n"
      "Content-Range: bytes 500-999/8000\r\n"
      "\r\n" +
      std::string(500, 'a') +
      "\r\n--THIS_STRING_SEPARATES\r\n"
      "Content-Type: application/pdf\r\n"
      "Content-Range: bytes 7000-7999/8000\r\n"
      "\r\n" +
      std::string(1000, 'b') + "\r\n--THIS_STRING_SEPARATES--\r\n";
  EXPECT_EQ(body.body(ranges, pdf), expected);
  EXPECT_EQ(body.body_length(ranges), expected.size());
  // Streamed part by part, it is the same bytes.
  std::string streamed = body.part_head(0, ranges[0]) + pdf.substr(500, 500) +
                         body.part_head(1, ranges[1]) + pdf.substr(7000, 1000) + body.tail();
  EXPECT_EQ(streamed, expected);
}

TEST(Range, MakesRandomBoundaries) {
  const std::string a = random_boundary(), b = random_boundary();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace stoa::http
