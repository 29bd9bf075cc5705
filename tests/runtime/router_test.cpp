#include "runtime/router.h"

#include <gtest/gtest.h>

namespace stoa::http {
namespace {

ResponseHandler noop() {
  return [](Request&) -> Awaitable<Response> { co_return Response::text(200, "ok"); };
}

TEST(Router, MatchesLiteralAndParameters) {
  Router router;
  router.add("GET", "/v1/users/{id}", noop());
  router.add("GET", "/v1/users/me", noop());
  auto me = router.match("GET", "/v1/users/me");
  ASSERT_EQ(me.outcome, Router::Outcome::found);
  EXPECT_EQ(me.route->path_template, "/v1/users/me");
  EXPECT_TRUE(me.params.empty());

  auto other = router.match("GET", "/v1/users/a%20b");
  ASSERT_EQ(other.outcome, Router::Outcome::found);
  EXPECT_EQ(other.route->path_template, "/v1/users/{id}");
  ASSERT_EQ(other.params.size(), 1u);
  EXPECT_EQ(other.params[0].first, "id");
  EXPECT_EQ(other.params[0].second, "a b");
}

TEST(Router, LiteralFallsBackToParameterWhenDeeperPathFails) {
  Router router;
  router.add("GET", "/a/b", noop());
  router.add("GET", "/a/{x}/c", noop());
  auto m = router.match("GET", "/a/b/c");
  ASSERT_EQ(m.outcome, Router::Outcome::found);
  EXPECT_EQ(m.route->path_template, "/a/{x}/c");
  EXPECT_EQ(m.params.at(0).second, "b");
}

TEST(Router, NotFoundForUnknownPathsAndEmptySegments) {
  Router router;
  router.add("GET", "/v1/users/{id}", noop());
  EXPECT_EQ(router.match("GET", "/v1/orders").outcome, Router::Outcome::not_found);
  EXPECT_EQ(router.match("GET", "/v1/users/").outcome, Router::Outcome::not_found);
  EXPECT_EQ(router.match("GET", "/v1/users/x/y").outcome, Router::Outcome::not_found);
  EXPECT_EQ(router.match("GET", "no-slash").outcome, Router::Outcome::not_found);
}

TEST(Router, MalformedEscapeDoesNotMatchParameter) {
  Router router;
  router.add("GET", "/files/{name}", noop());
  EXPECT_EQ(router.match("GET", "/files/%zz").outcome, Router::Outcome::not_found);
  EXPECT_EQ(router.match("GET", "/files/%4").outcome, Router::Outcome::not_found);
}

TEST(Router, MethodNotAllowedListsAllowedMethods) {
  Router router;
  router.add("GET", "/items", noop());
  router.add("POST", "/items", noop());
  auto m = router.match("DELETE", "/items");
  EXPECT_EQ(m.outcome, Router::Outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, HEAD, OPTIONS, POST");
}

TEST(Router, HeadFallsBackToGetAndOptionsAnswersAllow) {
  Router router;
  router.add("GET", "/items", noop());
  auto head = router.match("HEAD", "/items");
  ASSERT_EQ(head.outcome, Router::Outcome::found);
  EXPECT_EQ(head.route->method, "GET");
  auto options = router.match("OPTIONS", "/items");
  EXPECT_EQ(options.outcome, Router::Outcome::options);
  EXPECT_EQ(options.allow, "GET, HEAD, OPTIONS");
}

TEST(Router, TailParameterTakesTheRest) {
  Router router;
  router.add("GET", "/static/{path...}", noop());
  auto m = router.match("GET", "/static/css/site.css");
  ASSERT_EQ(m.outcome, Router::Outcome::found);
  EXPECT_EQ(m.params.at(0).first, "path");
  EXPECT_EQ(m.params.at(0).second, "css/site.css");
  auto empty = router.match("GET", "/static");
  ASSERT_EQ(empty.outcome, Router::Outcome::found);
  EXPECT_EQ(empty.params.at(0).second, "");
}

TEST(Router, RejectsBadTemplates) {
  Router router;
  EXPECT_THROW(router.add("GET", "relative", noop()), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/a/{rest...}/b", noop()), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/a/b{c}", noop()), std::invalid_argument);
  router.add("GET", "/a/{id}", noop());
  EXPECT_THROW(router.add("GET", "/a/{id}", noop()), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/a/{other}/x", noop()), std::invalid_argument);
}

}  // namespace
}  // namespace stoa::http
