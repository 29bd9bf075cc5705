#include "runtime/problem.h"

#include <gtest/gtest.h>

#include "runtime/json.h"

namespace stoa::http {
namespace {

TEST(Problem, IsAnRfc9457Document) {
  Response r = problem_response(404, "No resource at this path.", "/v1/x");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.get("Content-Type"), "application/problem+json");
  auto doc = json::parse(r.body);
  ASSERT_TRUE(doc.ok()) << r.body;
  const auto& object = doc->as_object();
  EXPECT_EQ(object.at("type"), "about:blank");
  EXPECT_EQ(object.at("title"), "Not Found");
  EXPECT_EQ(object.at("status"), 404);
  EXPECT_EQ(object.at("detail"), "No resource at this path.");
  EXPECT_EQ(object.at("instance"), "/v1/x");
}

TEST(Problem, HostileInstanceStaysValidJson) {
  // A raw request path may hold any byte; the document must still parse (valid UTF-8).
  Response r = problem_response(404, "missing", std::string("/a\x89\xff b\"\\\n"));
  auto doc = json::parse(r.body);
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(doc->as_object().at("instance"), "/a%89%FF%20b%22%5C%0A");
}

}  // namespace
}  // namespace stoa::http
