#include "runtime/http/cache_control.h"

#include <gtest/gtest.h>

namespace stoa::http {
namespace {

using std::chrono::seconds;

// RFC 9111 §5.2's directives, as requests and responses send them.
TEST(CacheControl, ReadsTheResponseDirectives) {
  auto cc = parse_cache_control(
      "public, max-age=3600, s-maxage=60, must-revalidate, proxy-revalidate, no-transform, "
      "stale-while-revalidate=30, stale-if-error=86400, immutable, must-understand, no-store");
  EXPECT_TRUE(cc.is_public);
  EXPECT_EQ(cc.max_age, seconds(3600));
  EXPECT_EQ(cc.s_maxage, seconds(60));
  EXPECT_TRUE(cc.must_revalidate);
  EXPECT_TRUE(cc.proxy_revalidate);
  EXPECT_TRUE(cc.no_transform);
  EXPECT_EQ(cc.stale_while_revalidate, seconds(30));
  EXPECT_EQ(cc.stale_if_error, seconds(86400));
  EXPECT_TRUE(cc.immutable);
  EXPECT_TRUE(cc.must_understand);
  EXPECT_TRUE(cc.no_store);
  EXPECT_FALSE(cc.no_cache);
  EXPECT_FALSE(cc.is_private);
  EXPECT_TRUE(cc.extensions.empty());
}

TEST(CacheControl, ReadsTheRequestDirectives) {
  auto cc = parse_cache_control("no-cache, max-stale, min-fresh=5, only-if-cached");
  EXPECT_TRUE(cc.no_cache);
  EXPECT_TRUE(cc.max_stale_any);
  EXPECT_EQ(cc.max_stale, std::nullopt);
  EXPECT_EQ(cc.min_fresh, seconds(5));
  EXPECT_TRUE(cc.only_if_cached);
  EXPECT_EQ(parse_cache_control("max-stale=10").max_stale, seconds(10));
}

// §5.2.2.4 and §5.2.2.7: the qualified forms list field names.
TEST(CacheControl, ReadsQualifiedNoCacheAndPrivate) {
  auto cc = parse_cache_control("private=\"Set-Cookie, X-Token\", no-cache=\"Authorization\"");
  EXPECT_TRUE(cc.is_private);
  EXPECT_EQ(cc.private_fields, (std::vector<std::string>{"set-cookie", "x-token"}));
  EXPECT_TRUE(cc.no_cache);
  EXPECT_EQ(cc.no_cache_fields, std::vector<std::string>{"authorization"});
}

TEST(CacheControl, NamesAreCaseInsensitiveAndValuesMayBeQuoted) {
  auto cc = parse_cache_control("MAX-AGE=\"60\", No-Store, Community=\"UCI\"");
  EXPECT_EQ(cc.max_age, seconds(60));
  EXPECT_TRUE(cc.no_store);
  ASSERT_EQ(cc.extensions.size(), 1u);
  EXPECT_EQ(cc.extensions[0], (std::pair<std::string, std::string>{"community", "UCI"}));
}

TEST(CacheControl, KeepsUnknownDirectivesInOrder) {
  auto cc = parse_cache_control("foo, bar=1, baz=\"a \\\"q\\\" b\", max-age=5");
  ASSERT_EQ(cc.extensions.size(), 3u);
  EXPECT_EQ(cc.extensions[0], (std::pair<std::string, std::string>{"foo", ""}));
  EXPECT_EQ(cc.extensions[1], (std::pair<std::string, std::string>{"bar", "1"}));
  EXPECT_EQ(cc.extensions[2], (std::pair<std::string, std::string>{"baz", "a \"q\" b"}));
  EXPECT_EQ(cc.max_age, seconds(5));
}

// §4.2.1: the first of duplicate directives is used; invalid freshness reads as stale.
TEST(CacheControl, DuplicatesAndInvalidValues) {
  EXPECT_EQ(parse_cache_control("max-age=60, max-age=10").max_age, seconds(60));
  EXPECT_EQ(parse_cache_control("max-age=abc").max_age, seconds(0));
  EXPECT_EQ(parse_cache_control("max-age=-1").max_age, seconds(0));
  EXPECT_EQ(parse_cache_control("max-age").max_age, seconds(0));
  EXPECT_EQ(parse_cache_control("max-age=1.5").max_age, seconds(0));
  // §1.2.2: a number too large to represent is 2^31.
  EXPECT_EQ(parse_cache_control("max-age=99999999999999999999999").max_age, kMaxDeltaSeconds);
  EXPECT_EQ(parse_cache_control("s-maxage=2147483649").s_maxage, kMaxDeltaSeconds);
  EXPECT_EQ(parse_cache_control("s-maxage=2147483648").s_maxage, kMaxDeltaSeconds);
}

TEST(CacheControl, SkipsMalformedMembers) {
  auto cc = parse_cache_control(" , no-store ,, =5, max-age=\"unterminated, public");
  EXPECT_TRUE(cc.no_store);
  EXPECT_EQ(cc.max_age, std::nullopt);  // the unclosed quote swallows the rest
  EXPECT_FALSE(cc.is_public);
  auto junk = parse_cache_control("a b, c=d e, public, \"x\", max-age=7");
  EXPECT_TRUE(junk.is_public);
  EXPECT_EQ(junk.max_age, seconds(7));
  EXPECT_TRUE(junk.extensions.empty());
  EXPECT_EQ(parse_cache_control(""), CacheControl{});
}

TEST(CacheControl, BoundsTheNumberOfDirectives) {
  std::string field;
  for (std::size_t i = 0; i < kMaxCacheDirectives; ++i) field += "x" + std::to_string(i) + ", ";
  auto cc = parse_cache_control(field + "no-store");
  EXPECT_EQ(cc.extensions.size(), kMaxCacheDirectives);
  EXPECT_FALSE(cc.no_store);
}

TEST(CacheControl, FormatsWhatItParses) {
  const char* fields[] = {"max-age=60, public", "private=\"set-cookie\", no-cache, max-stale",
                          "s-maxage=1, stale-if-error=2, immutable, x=\"a b\", y=\"\\\\\", z",
                          "no-cache=\"a, b\", must-understand, no-store"};
  for (const char* field : fields) {
    auto parsed = parse_cache_control(field);
    EXPECT_EQ(parse_cache_control(format_cache_control(parsed)), parsed)
        << field << " -> " << format_cache_control(parsed);
  }
  CacheControl cc;
  cc.max_age = seconds(60);
  cc.is_public = true;
  cc.extensions = {{"community", "UCI"}, {"quoted", "a,b"}};
  EXPECT_EQ(format_cache_control(cc), "max-age=60, public, community=UCI, quoted=\"a,b\"");
}

}  // namespace
}  // namespace stoa::http
