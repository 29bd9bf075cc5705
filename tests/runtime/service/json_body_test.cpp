// Service kit: JSON object bodies with known fields, text fields within bounds.
#include "runtime/service/json_body.h"

#include <gtest/gtest.h>

#include <string>

namespace stoa::service {
namespace {

http::Request with_body(std::string body) {
  http::Request request;
  request.body = std::move(body);
  return request;
}

std::string error_of(const Result<boost::json::object>& result) {
  return result ? "(accepted)" : result.error().message;
}

TEST(JsonBody, AcceptsAnObjectOfKnownFields) {
  auto body = json_object(with_body(R"({"name":"Ada","age":36})"), {"name", "age"});
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(body->at("name"), "Ada");
}

TEST(JsonBody, RefusesWhatIsNotAnObjectOfKnownFields) {
  EXPECT_EQ(error_of(json_object(with_body(""), {"a"})), "the body must be a JSON object");
  EXPECT_EQ(error_of(json_object(with_body("[1]"), {"a"})), "the body must be a JSON object");
  EXPECT_EQ(error_of(json_object(with_body(R"({"a":1,"admin":true})"), {"a"})),
            "unknown field \"admin\" in the body");
  auto malformed = json_object(with_body("{\"a\":"), {"a"});
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, Errc::invalid_argument);
  EXPECT_TRUE(malformed.error().message.starts_with("the body is not valid JSON"));
  // Deeper than 32 levels is malformed input too, not a server problem.
  std::string deep = R"({"a":)" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_EQ(json_object(with_body(deep), {"a"}).error().code, Errc::invalid_argument);
}

std::string text_error(const char* json, const TextRule& rule) {
  auto body = json_object(with_body(json), {"f"});
  if (!body) return body.error().message;
  auto field = text_field(*body, "f", rule);
  return field ? (*field ? **field : "(absent)") : "error: " + field.error().message;
}

TEST(JsonBody, TextFieldsKeepTheirBounds) {
  EXPECT_EQ(text_error(R"({"f":"héllo"})", {.min_chars = 1, .max_chars = 5}), "héllo");
  EXPECT_EQ(text_error(R"({"f":"héllo!"})", {.max_chars = 5}),
            "error: f is longer than 5 characters");
  EXPECT_EQ(text_error(R"({"f":"abc"})", {.max_bytes = 2}), "error: f is longer than 2 bytes");
  EXPECT_EQ(text_error(R"({"f":""})", {.min_chars = 1}), "error: f must not be empty");
  EXPECT_EQ(text_error(R"({"f":"ab"})", {.min_chars = 8}),
            "error: f must be at least 8 characters");
  EXPECT_EQ(text_error(R"({"f":5})", {}), "error: f must be a string");
  EXPECT_EQ(text_error(R"({})", {}), "error: f is required");
  EXPECT_EQ(text_error(R"({"f":null})", {.required = false}), "(absent)");
}

TEST(JsonBody, TextFieldsRefuseControlsAndOptionallyBidiOverrides) {
  EXPECT_EQ(text_error(R"({"f":"a\nb"})", {}), "error: f holds a control character");
  EXPECT_EQ(text_error(R"({"f":"a\nb"})", {.single_line = false}), "a\nb");
  EXPECT_EQ(text_error(R"({"f":"a\u0085b"})", {.single_line = false}),
            "error: f holds a control character");
  EXPECT_EQ(text_error(R"({"f":"a\u2028b"})", {}), "error: f holds a control character");
  EXPECT_EQ(text_error(R"({"f":"evil\u202Egnp.exe"})", {}), "evil\u202Egnp.exe");
  EXPECT_TRUE(text_error(R"({"f":"evil\u202Egnp.exe"})", {.no_bidi_controls = true})
                  .starts_with("error: f holds a bidirectional override"));
}

TEST(JsonBody, CountsCodePoints) {
  EXPECT_EQ(count_chars(""), 0u);
  EXPECT_EQ(count_chars("abc"), 3u);
  EXPECT_EQ(count_chars("h\xC3\xA9"), 2u);         // é
  EXPECT_EQ(count_chars("\xF0\x9F\x98\x80"), 1u);  // one emoji, four bytes
}

}  // namespace
}  // namespace stoa::service
