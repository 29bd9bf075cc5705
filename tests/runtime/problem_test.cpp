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

namespace stoa::http {
namespace {

TEST(ProblemFor, MapsEveryErrorCodeToAStatus) {
  EXPECT_EQ(status_for(Errc::invalid_argument), 400);
  EXPECT_EQ(status_for(Errc::unauthenticated), 401);
  EXPECT_EQ(status_for(Errc::permission_denied), 403);
  EXPECT_EQ(status_for(Errc::not_found), 404);
  EXPECT_EQ(status_for(Errc::conflict), 409);
  EXPECT_EQ(status_for(Errc::aborted), 409);
  EXPECT_EQ(status_for(Errc::too_large), 413);
  EXPECT_EQ(status_for(Errc::unavailable), 503);
  EXPECT_EQ(status_for(Errc::internal), 500);
}

TEST(ProblemFor, ShowsClientErrorsAndHidesServerOnes) {
  auto bad = problem_for(Error{Errc::conflict, "the email is taken"}, "/v1/users");
  EXPECT_EQ(bad.status, 409);
  EXPECT_NE(bad.body.find("the email is taken"), std::string::npos);
  auto inner = problem_for(Error{Errc::internal, "relation \"users\" does not exist"});
  EXPECT_EQ(inner.status, 500);
  EXPECT_EQ(inner.body.find("relation"), std::string::npos);
  auto anonymous = problem_for(Error{Errc::unauthenticated, "the token has expired"});
  EXPECT_EQ(anonymous.headers.get("WWW-Authenticate"), "Bearer");
  EXPECT_NE(anonymous.body.find("expired"), std::string::npos);
  EXPECT_EQ(problem_for(Error{Errc::unavailable, "db down"}).headers.get("Retry-After"), "1");
}

}  // namespace
}  // namespace stoa::http
