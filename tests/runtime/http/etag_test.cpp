#include "runtime/http/etag.h"

#include <gtest/gtest.h>

namespace stoa::http {
namespace {

EntityTag strong(std::string opaque) {
  return EntityTag{std::move(opaque), false};
}
EntityTag weak(std::string opaque) {
  return EntityTag{std::move(opaque), true};
}

// RFC 9110 §8.8.3.2's table.
TEST(EntityTag, ComparesAsTheRfcTable) {
  EXPECT_FALSE(strong_compare(weak("1"), weak("1")));
  EXPECT_TRUE(weak_compare(weak("1"), weak("1")));
  EXPECT_FALSE(strong_compare(weak("1"), weak("2")));
  EXPECT_FALSE(weak_compare(weak("1"), weak("2")));
  EXPECT_FALSE(strong_compare(weak("1"), strong("1")));
  EXPECT_TRUE(weak_compare(weak("1"), strong("1")));
  EXPECT_TRUE(strong_compare(strong("1"), strong("1")));
  EXPECT_TRUE(weak_compare(strong("1"), strong("1")));
}

// §8.8.3's examples.
TEST(EntityTag, ParsesAndFormatsTheRfcExamples) {
  EXPECT_EQ(parse_entity_tag("\"xyzzy\""), strong("xyzzy"));
  EXPECT_EQ(parse_entity_tag("W/\"xyzzy\""), weak("xyzzy"));
  EXPECT_EQ(parse_entity_tag("\"\""), strong(""));
  EXPECT_EQ(parse_entity_tag("  \"a,b\"\t"), strong("a,b"));
  EXPECT_EQ(format_entity_tag(weak("xyzzy")), "W/\"xyzzy\"");
  EXPECT_EQ(format_entity_tag(strong("xyzzy")), "\"xyzzy\"");
  EXPECT_EQ(strong_etag("d41d8cd98f00b204e9800998ecf8427e"),
            "\"d41d8cd98f00b204e9800998ecf8427e\"");
}

TEST(EntityTag, RefusesMalformedTags) {
  for (const char* text : {"", "xyzzy", "\"xyzzy", "xyzzy\"", "w/\"x\"", "W/x", "W/", "\"x\"y",
                           "\"a\"b\"", "\"a b\"", "\"a\x7f\"", "\"a\tb\"", "W/ \"x\"", "\""}) {
    EXPECT_EQ(parse_entity_tag(text), std::nullopt) << text;
  }
}

TEST(EntityTag, LenientSyntaxReadsABareTag) {
  EXPECT_EQ(parse_entity_tag("abc123", TagSyntax::lenient), strong("abc123"));
  EXPECT_EQ(parse_entity_tag("\"abc\"", TagSyntax::lenient), strong("abc"));
  EXPECT_EQ(parse_entity_tag("W/\"abc\"", TagSyntax::lenient), weak("abc"));
  EXPECT_EQ(parse_entity_tag("W/abc", TagSyntax::lenient), std::nullopt);
  EXPECT_EQ(parse_entity_tag("", TagSyntax::lenient), std::nullopt);
  EXPECT_EQ(parse_entity_tag("\"abc", TagSyntax::lenient), std::nullopt);
}

// §13.1.1 and §13.1.2's examples.
TEST(EntityTagList, ParsesTheConditionalHeaderExamples) {
  auto list = parse_entity_tag_list("\"xyzzy\", \"r2d2xxxx\", \"c3piozzzz\"");
  ASSERT_TRUE(list);
  EXPECT_FALSE(list->any);
  EXPECT_EQ(list->tags, (std::vector{strong("xyzzy"), strong("r2d2xxxx"), strong("c3piozzzz")}));
  auto mixed = parse_entity_tag_list("W/\"xyzzy\", W/\"r2d2xxxx\", \"c3piozzzz\"");
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->tags.size(), 3u);
  EXPECT_TRUE(mixed->tags[0].weak);
  EXPECT_FALSE(mixed->tags[2].weak);
  auto any = parse_entity_tag_list(" * ");
  ASSERT_TRUE(any);
  EXPECT_TRUE(any->any);
  EXPECT_EQ(format_entity_tag_list(*any), "*");
  EXPECT_EQ(format_entity_tag_list(*mixed), "W/\"xyzzy\", W/\"r2d2xxxx\", \"c3piozzzz\"");
  // Empty elements are allowed; a comma inside quotes belongs to the tag.
  auto sparse = parse_entity_tag_list(", \"a,b\" ,, \"c\",");
  ASSERT_TRUE(sparse);
  EXPECT_EQ(sparse->tags, (std::vector{strong("a,b"), strong("c")}));
}

TEST(EntityTagList, RefusesMalformedLists) {
  for (const char* text :
       {"", " ", ",", "*, \"a\"", "\"a\", *", "\"a\" \"b\"", "\"a\", b", "\"a", "**"}) {
    EXPECT_EQ(parse_entity_tag_list(text), std::nullopt) << text;
  }
}

TEST(EntityTagList, BoundsTheNumberOfTags) {
  std::string list;
  for (std::size_t i = 0; i < kMaxEntityTags; ++i) list += "\"" + std::to_string(i) + "\",";
  EXPECT_TRUE(parse_entity_tag_list(list));
  list += "\"one-more\"";
  EXPECT_EQ(parse_entity_tag_list(list), std::nullopt);
  // A megabyte of commas is empty elements, read in one pass.
  EXPECT_EQ(parse_entity_tag_list(std::string(1 << 20, ',')), std::nullopt);
}

TEST(EntityTagList, MatchesStronglyOrWeakly) {
  auto list = parse_entity_tag_list("W/\"1\", \"2\"");
  ASSERT_TRUE(list);
  EXPECT_FALSE(matches_strong(*list, strong("1")));
  EXPECT_TRUE(matches_weak(*list, strong("1")));
  EXPECT_TRUE(matches_strong(*list, strong("2")));
  EXPECT_FALSE(matches_strong(*list, weak("2")));
  EXPECT_TRUE(matches_weak(*list, weak("2")));
  EXPECT_FALSE(matches_weak(*list, strong("3")));
  EntityTagList any{.any = true, .tags = {}};
  EXPECT_TRUE(matches_strong(any, weak("x")));
  EXPECT_TRUE(matches_weak(any, strong("x")));
}

// What a resource versioned by a counter (the user service's profiles) needs.
TEST(EntityTag, VersionTags) {
  EXPECT_EQ(version_etag(7), "\"7\"");
  EXPECT_EQ(parse_version_etag("\"7\""), 7);
  EXPECT_EQ(parse_version_etag("W/\"7\""), 7);
  EXPECT_EQ(parse_version_etag(version_etag(9223372036854775807LL)), 9223372036854775807LL);
  for (const char* text : {"7", "\"0\"", "\"-1\"", "\"+1\"", "\"7a\"", "\"\"",
                           "\"9223372036854775808\"", "\"x\"", "*"}) {
    EXPECT_EQ(parse_version_etag(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace stoa::http
