#include "runtime/json.h"

#include <gtest/gtest.h>

#include <string>

namespace stoa::json {
namespace {

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string nested_objects(std::size_t depth) {
  std::string text;
  for (std::size_t i = 0; i < depth; ++i) text += "{\"a\":";
  text += "1";
  text += std::string(depth, '}');
  return text;
}

void expect_invalid(std::string_view text) {
  auto result = parse(text);
  ASSERT_FALSE(result.ok()) << "accepted: " << text;
  EXPECT_EQ(result.error().code, Errc::invalid_argument) << text;
  EXPECT_NE(result.error().message.find("byte"), std::string::npos) << result.error().message;
}

TEST(JsonParse, ParsesAValidDocument) {
  auto result = parse(R"({"name":"caf\u00e9","qty":3,"price":-1.5,"tags":["a",null,true]})");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const auto& object = result->as_object();
  EXPECT_EQ(object.at("name").as_string(), "caf\xc3\xa9");
  EXPECT_EQ(object.at("qty").as_int64(), 3);
  EXPECT_DOUBLE_EQ(object.at("price").as_double(), -1.5);
  EXPECT_EQ(object.at("tags").as_array().size(), 3u);
  EXPECT_TRUE(object.at("tags").as_array()[1].is_null());
}

TEST(JsonParse, ScalarsAndWhitespaceAreDocuments) {
  ASSERT_TRUE(parse("  42 \n").ok());
  EXPECT_EQ(parse("42")->as_int64(), 42);
  EXPECT_TRUE(parse("null")->is_null());
  EXPECT_EQ(parse("\"x\"")->as_string(), "x");
  EXPECT_EQ(parse("18446744073709551615")->as_uint64(), 18446744073709551615ull);
}

TEST(JsonParse, SizeLimitIsCheckedBeforeParsing) {
  const std::string ten = R"(["abcdef"])";
  ASSERT_EQ(ten.size(), 10u);
  EXPECT_TRUE(parse(ten, {.max_bytes = 10}).ok());
  auto too_big = parse(ten, {.max_bytes = 9});
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, Errc::too_large);
  // Over the limit wins even when the text is not JSON at all: nothing was parsed.
  auto garbage = parse(std::string(2 * 1024 * 1024, '@'));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, Errc::too_large);
}

TEST(JsonParse, DepthExactlyAtTheLimitIsAccepted) {
  EXPECT_TRUE(parse(nested_arrays(5), {.max_depth = 5}).ok());
  EXPECT_TRUE(parse(nested_objects(5), {.max_depth = 5}).ok());
  EXPECT_TRUE(parse(nested_arrays(32)).ok());  // the default limit
  EXPECT_TRUE(parse("7", {.max_depth = 0}).ok());
}

TEST(JsonParse, DepthJustOverTheLimitIsTooLarge) {
  for (const auto& text :
       {nested_arrays(6), nested_objects(6), std::string("[{\"a\":[[[[]]]]}]")}) {
    auto result = parse(text, {.max_depth = 5});
    ASSERT_FALSE(result.ok()) << text;
    EXPECT_EQ(result.error().code, Errc::too_large);
    EXPECT_NE(result.error().message.find("too deep"), std::string::npos) << result.error().message;
  }
  auto defaults = parse(nested_arrays(33));
  ASSERT_FALSE(defaults.ok());
  EXPECT_EQ(defaults.error().code, Errc::too_large);
  EXPECT_FALSE(parse("[]", {.max_depth = 0}).ok());
}

TEST(JsonParse, InvalidUtf8IsRejected) {
  for (const char* text : {
           "\"\xff\"",              // never valid
           "\"\xc3\"",              // truncated two-byte sequence
           "\"\xc3\x28\"",          // bad continuation byte
           "\"\xc0\xaf\"",          // overlong '/'
           "\"\xed\xa0\x80\"",      // UTF-16 surrogate
           "\"\xf4\x90\x80\x80\"",  // above U+10FFFF
           "{\"k\xff\":1}",         // in a key
           "[\xe2\x82]",            // outside a string
       }) {
    expect_invalid(text);
  }
  auto result = parse("\"\xff\"");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("UTF-8"), std::string::npos) << result.error().message;
}

TEST(JsonParse, ValidUtf8IsAccepted) {
  auto result = parse("[\"\xc3\xa9\", \"\xe2\x82\xac\", \"\xf0\x9f\x98\x80\", \"\\ud83d\\ude00\"]");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->as_array()[3].as_string(), "\xf0\x9f\x98\x80");
}

TEST(JsonParse, MalformedDocumentsAreRejectedWithAnOffset) {
  for (const char* text :
       {"", " ", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "{a:1}", "nul", "1 2", "[1] x", "01", "1.",
        "+1", "NaN", "\"\\x41\"", "\"tab\there\"", "[1 /* no comments */]", "{\"a\" 1}"}) {
    expect_invalid(text);
  }
  auto result = parse("[1,2,x]");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("byte 5"), std::string::npos) << result.error().message;
}

TEST(JsonParse, DuplicateKeysAreRejected) {
  auto result = parse(R"({"amount":1,"amount":1000000})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::invalid_argument);
  EXPECT_NE(result.error().message.find("duplicate"), std::string::npos);
  EXPECT_NE(result.error().message.find("\"amount\""), std::string::npos);

  expect_invalid(R"({"a":{"b":1,"c":2,"b":3}})");  // nested
  expect_invalid(R"({"caf\u00e9":1,"café":2})");   // the same key spelled two ways
  expect_invalid(R"({"":1,"":2})");
  expect_invalid(R"([{"x":1},{"y":1,"y":2}])");
}

TEST(JsonParse, SameKeyInDifferentObjectsIsFine) {
  auto result = parse(R"({"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]})");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->at("b").as_array()[1].at("a").as_int64(), 2);
}

TEST(JsonSerialize, RoundTrips) {
  const std::string text = R"({"a":[1,2.5,"x\"y",null,false],"b":{"c":"\u0001"}})";
  auto first = parse(text);
  ASSERT_TRUE(first.ok()) << first.error().message;
  const std::string out = serialize(*first);
  auto second = parse(out);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(serialize(boost::json::value{{"k", 1}}), R"({"k":1})");
}

}  // namespace
}  // namespace stoa::json
