// Service kit: JSON responses, and errors that carry Retry-After.
#include <gtest/gtest.h>

#include <boost/json/object.hpp>

#include "runtime/problem.h"
#include "runtime/service/json_response.h"
#include "runtime/service/retry_after.h"

namespace stoa::service {
namespace {

using namespace std::chrono_literals;

TEST(JsonResponse, SerializesWithTheJsonContentType) {
  auto response = json_response(201, boost::json::object{{"id", "u-1"}});
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.headers.get("Content-Type"), "application/json");
  EXPECT_EQ(response.body, R"({"id":"u-1"})");
}

TEST(RetryAfter, RoundsUpToWholeSecondsAtLeastOne) {
  EXPECT_EQ(retry_after_seconds(0ms), 1s);
  EXPECT_EQ(retry_after_seconds(1ms), 1s);
  EXPECT_EQ(retry_after_seconds(1000ms), 1s);
  EXPECT_EQ(retry_after_seconds(1001ms), 2s);
  EXPECT_EQ(retry_after_seconds(-5ms), 1s);
}

TEST(RetryAfter, TooManyRequestsIs429WithRetryAfter) {
  auto error = too_many_requests("too many failed attempts: try again later", 2500ms);
  EXPECT_EQ(error.code, Errc::resource_exhausted);
  auto response = http::problem_for(error, "/v1/login");
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.headers.get("Retry-After"), "3");
  EXPECT_NE(response.body.find("too many failed attempts"), std::string::npos);
}

TEST(RetryAfter, UnavailableForIs503WithItsOwnRetryAfter) {
  auto response = http::problem_for(unavailable_for("draining", 30s));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.headers.get("Retry-After"), "30");
  // A plain unavailable error keeps the default advice.
  EXPECT_EQ(http::problem_for(Error{Errc::unavailable, "db down"}).headers.get("Retry-After"), "1");
}

}  // namespace
}  // namespace stoa::service
