#include "runtime/http/negotiation.h"

#include <array>

#include <gtest/gtest.h>

namespace stoa::http {
namespace {

constexpr std::array<std::string_view, 2> kJsonOrHtml = {"application/json", "text/html"};

TEST(Negotiation, ParsesAcceptWithWeights) {
  // RFC 9110 §12.5.1's example.
  auto ranges = parse_accept(
      "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, "
      "text/plain;format=fixed;q=0.4, */*;q=0.5");
  ASSERT_EQ(ranges.size(), 5u);
  EXPECT_EQ(ranges[0].type, "text");
  EXPECT_EQ(ranges[0].subtype, "*");
  EXPECT_EQ(ranges[0].weight, 300);
  EXPECT_EQ(ranges[2].parameters,
            (std::vector<std::pair<std::string, std::string>>{{"format", "flowed"}}));
  EXPECT_EQ(ranges[2].weight, 1000);
  EXPECT_EQ(ranges[3].weight, 400);
  EXPECT_EQ(ranges[4].weight, 500);
}

// §12.5.1: each offer takes the weight of the most specific range that matches it.
TEST(Negotiation, UsesTheMostSpecificRange) {
  const char* accept =
      "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, text/plain;format=fixed;q=0.4, "
      "*/*;q=0.5";
  auto weight_of = [&](std::string_view offer) {
    // The offer alone against a zero-weight rival gives its weight away by being chosen.
    std::array<std::string_view, 1> one = {offer};
    return choose_media_type(accept, one);
  };
  EXPECT_EQ(weight_of("text/plain;format=flowed"), "text/plain;format=flowed");
  std::array<std::string_view, 2> fixed_or_html = {"text/plain;format=fixed", "text/html"};
  // fixed: 0.4, html: 0.3 (text/*).
  EXPECT_EQ(choose_media_type(accept, fixed_or_html), "text/plain;format=fixed");
  std::array<std::string_view, 2> html_or_image = {"text/html", "image/jpeg"};
  // html: 0.3, jpeg: 0.5 (*/*).
  EXPECT_EQ(choose_media_type(accept, html_or_image), "image/jpeg");
  std::array<std::string_view, 2> plain_or_level = {"text/html;level=2", "text/plain"};
  EXPECT_EQ(choose_media_type(accept, plain_or_level), "text/plain");  // 0.7 over 0.3
}

TEST(Negotiation, ChoosesAMediaType) {
  EXPECT_EQ(choose_media_type(std::nullopt, kJsonOrHtml), "application/json");
  EXPECT_EQ(choose_media_type("text/html", kJsonOrHtml), "text/html");
  EXPECT_EQ(choose_media_type("*/*", kJsonOrHtml), "application/json");  // ties: server order
  EXPECT_EQ(choose_media_type("TEXT/HTML;q=0.9, application/*;q=0.8", kJsonOrHtml), "text/html");
  EXPECT_EQ(choose_media_type("application/json;q=0, */*", kJsonOrHtml), "text/html");
  // Nothing acceptable: 406.
  EXPECT_EQ(choose_media_type("image/png", kJsonOrHtml), std::nullopt);
  EXPECT_EQ(choose_media_type("*/*;q=0", kJsonOrHtml), std::nullopt);
  EXPECT_EQ(choose_media_type("", kJsonOrHtml), std::nullopt);
  // Malformed elements are skipped.
  EXPECT_EQ(
      choose_media_type("garbage, text/html;q=2, */json, application/json;q=0.5", kJsonOrHtml),
      "application/json");
}

TEST(Negotiation, BoundsTheElementsRead) {
  std::string accept;
  for (std::size_t i = 0; i < kMaxNegotiationElements; ++i)
    accept += "image/x" + std::to_string(i) + ",";
  EXPECT_EQ(parse_accept(accept + "text/html").size(), kMaxNegotiationElements);
  EXPECT_EQ(choose_media_type(accept + "text/html", kJsonOrHtml), std::nullopt);
}

// §12.5.3.
TEST(Negotiation, ChoosesAnEncoding) {
  constexpr std::array<std::string_view, 3> offered = {"br", "gzip", "identity"};
  EXPECT_EQ(choose_encoding(std::nullopt, offered), "br");
  EXPECT_EQ(choose_encoding("gzip", offered), "gzip");
  EXPECT_EQ(choose_encoding("gzip;q=0.5, br;q=0.8", offered), "br");
  EXPECT_EQ(choose_encoding("x-gzip", offered), "gzip");
  EXPECT_EQ(choose_encoding("*", offered), "br");
  // Empty field: identity only.
  EXPECT_EQ(choose_encoding("", offered), "identity");
  EXPECT_EQ(choose_encoding("compress", offered), "identity");
  // identity refused, explicitly or by *;q=0.
  EXPECT_EQ(choose_encoding("gzip, identity;q=0", offered), "gzip");
  constexpr std::array<std::string_view, 1> plain = {"identity"};
  EXPECT_EQ(choose_encoding("identity;q=0", plain), std::nullopt);
  EXPECT_EQ(choose_encoding("*;q=0", plain), std::nullopt);
  EXPECT_EQ(choose_encoding("*;q=0, identity", plain), "identity");
  EXPECT_EQ(choose_encoding("GZIP;Q=1.000", offered), "gzip");
}

TEST(Negotiation, ParsesAcceptEncoding) {
  auto codings = parse_accept_encoding("gzip;q=1.0, identity; q=0.5, *;q=0, bad;q=x, ;q=1");
  ASSERT_EQ(codings.size(), 3u);
  EXPECT_EQ(codings[0].name, "gzip");
  EXPECT_EQ(codings[0].weight, 1000);
  EXPECT_EQ(codings[1].name, "identity");
  EXPECT_EQ(codings[1].weight, 500);
  EXPECT_EQ(codings[2].name, "*");
  EXPECT_EQ(codings[2].weight, 0);
}

}  // namespace
}  // namespace stoa::http
