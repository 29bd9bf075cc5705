// The S3 endpoint's request authentication (SigV4, presigned form) on requests built in
// memory: what it accepts, and the S3 error each bad request gets.
#include "data/objects/s3_auth.h"

#include <gtest/gtest.h>

#include "data/objects/presign.h"

namespace stoa::objects::s3 {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

// 2026-03-01T12:00:00Z, the signing time of every request here.
const Clock::time_point kSigned =
    Clock::time_point(std::chrono::sys_days(std::chrono::year(2026) / std::chrono::March / 1)) +
    12h;

Credentials credentials() {
  auto parsed = parse_credentials({"stoa:stoa-secret-key", "other:another-secret"}, "us-east-1");
  EXPECT_TRUE(parsed);
  return *parsed;
}

// A GET of bucket/key presigned at kSigned, as the server receives it.
http::Request presigned_get(std::string key = "key", std::string secret = "stoa-secret-key") {
  auto url = presign_url({.method = "GET",
                          .base_url = "http://127.0.0.1:9000",
                          .bucket = "bucket",
                          .key = std::move(key),
                          .region = "us-east-1",
                          .access_key = "stoa",
                          .secret_key = std::move(secret),
                          .expires = 600s,
                          .now = kSigned});
  EXPECT_TRUE(url);
  std::string target = url->substr(std::string_view("http://127.0.0.1:9000").size());
  http::Request request;
  request.method = "GET";
  request.target = target;
  auto question = target.find('?');
  request.path = target.substr(0, question);
  request.query = target.substr(question + 1);
  request.headers.add("Host", "127.0.0.1:9000");
  return request;
}

std::string error_code(const std::variant<Authenticated, S3Error>& verdict) {
  auto* error = std::get_if<S3Error>(&verdict);
  return error ? error->code : "";
}

TEST(S3Auth, AcceptsAPresignedRequestWithinItsLifetime) {
  auto verdict = authenticate(presigned_get(), credentials(), kSigned + 30s);
  ASSERT_TRUE(std::holds_alternative<Authenticated>(verdict)) << error_code(verdict);
  const auto& auth = std::get<Authenticated>(verdict);
  EXPECT_EQ(auth.access_key, "stoa");
  EXPECT_EQ(auth.amz_date, "20260301T120000Z");
  EXPECT_EQ(auth.scope, "20260301/us-east-1/s3/aws4_request");
  EXPECT_TRUE(auth.presigned);
  // Keys that need escaping sign and verify the same way.
  EXPECT_TRUE(std::holds_alternative<Authenticated>(
      authenticate(presigned_get("dir/a b+c=€"), credentials(), kSigned)));
}

TEST(S3Auth, RefusesExpiredEarlyAndTamperedRequests) {
  EXPECT_EQ(error_code(authenticate(presigned_get(), credentials(), kSigned + 601s)),
            "AccessDenied");
  EXPECT_EQ(error_code(authenticate(presigned_get(), credentials(), kSigned - 1h)), "AccessDenied");
  EXPECT_EQ(error_code(authenticate(presigned_get("key", "wrong-secret"), credentials(), kSigned)),
            "SignatureDoesNotMatch");
  auto tampered = presigned_get();
  tampered.path = "/bucket/other";
  EXPECT_EQ(error_code(authenticate(tampered, credentials(), kSigned)), "SignatureDoesNotMatch");
  // The derived key cached for one secret is not used for another on the same day.
  EXPECT_TRUE(
      std::holds_alternative<Authenticated>(authenticate(presigned_get(), credentials(), kSigned)));
  EXPECT_EQ(
      error_code(authenticate(presigned_get("key", "another-secret"), credentials(), kSigned)),
      "SignatureDoesNotMatch");
}

TEST(S3Auth, RefusesDatesThatAreNotOnTheCalendar) {
  for (std::string_view date : {"20260230T120000Z", "20261301T120000Z", "20260301T240000Z",
                                "20260301T126000Z", "2026030XT120000Z", "20260301 120000Z"}) {
    auto request = presigned_get();
    auto at = request.query.find("X-Amz-Date=") + std::string_view("X-Amz-Date=").size();
    request.query.replace(at, 16, date);
    EXPECT_EQ(error_code(authenticate(request, credentials(), kSigned)),
              "AuthorizationQueryParametersError")
        << date;
  }
}

}  // namespace
}  // namespace stoa::objects::s3
