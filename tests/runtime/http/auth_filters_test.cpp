// Authentication and authorization filters over the runtime's JWT verifier, with keys minted by
// the test: the caller on the request, 401 with an RFC 6750 challenge, 403 for a missing scope,
// role or user subject, 503 without a key set, and optional authentication.
#include "runtime/http/auth_filters.h"

#include <gtest/gtest.h>

#include <boost/json/array.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "runtime/event_loop.h"
#include "runtime/http/pipeline.h"
#include "runtime/json.h"
#include "runtime/jwt.h"
#include "runtime/router.h"
#include "support/run_sync.h"
#include "support/test_signing_key.h"

namespace stoa::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;
using test::TestSigningKey;

constexpr const char* kUser = "01890a5d-ac96-774b-bcce-b302099a8057";

std::int64_t seconds_from_now(std::chrono::seconds offset) {
  return std::chrono::duration_cast<std::chrono::seconds>(
             (Clock::now() + offset).time_since_epoch())
      .count();
}

boost::json::object claims(std::string subject = kUser) {
  return {{"iss", "https://issuer.test"},
          {"aud", "stoa"},
          {"sub", subject},
          {"exp", seconds_from_now(5min)},
          {"scope", "profile orders:read"},
          {"roles", boost::json::array{"admin"}},
          {"client_id", "storefront"},
          {"jti", "token-1"}};
}

TestSigningKey& key() {
  static TestSigningKey instance(TestSigningKey::Kind::es256, "es-1");
  return instance;
}

class AuthFilters : public ::testing::Test {
 protected:
  AuthFilters() : thread_([this] { loop_.run(); }) {
    jwks_ = std::filesystem::temp_directory_path() /
            ("stoa-auth-filters-" + std::to_string(::getpid()) + ".json");
    std::ofstream(jwks_, std::ios::trunc) << test::jwks_of({&key()});
    verifier_ = make_verifier(jwks_.string());
  }
  ~AuthFilters() override {
    loop_.stop();
    thread_.join();
    std::filesystem::remove(jwks_);
  }

  static std::shared_ptr<jwt::Verifier> make_verifier(std::string jwks) {
    jwt::VerifierOptions options;
    options.jwks = std::move(jwks);
    options.issuer = "https://issuer.test";
    options.audiences = {"stoa"};
    return std::make_shared<jwt::Verifier>(options);
  }

  // A router whose one route, GET /r, answers with what it knows of the caller.
  Router router_with(FilterChain filters) {
    Router router;
    router.add(
        "GET", "/r",
        [](Request& request) -> Awaitable<Result<Response>> {
          if (!request.caller) co_return Response::text(200, "anonymous");
          const Caller& c = *request.caller;
          std::string text = c.subject + "|" + c.issuer + "|" + c.client_id + "|" + c.token_id;
          for (const auto& s : c.scopes) text += "|" + s;
          for (const auto& r : c.roles) text += "|role:" + r;
          co_return Response::text(200, text);
        },
        RouteOptions{.filters = std::move(filters)});
    return router;
  }

  Response get(const Router& router, std::optional<std::string> authorization) {
    auto request = std::make_shared<Request>();
    request->method = "GET";
    request->path = request->target = "/r";
    if (authorization) request->headers.add("Authorization", *authorization);
    auto match = std::make_shared<Router::Match>(router.match("GET", "/r"));
    return test::run_sync(
        loop_,
        [&router, request, match]() -> Awaitable<Response> {
          co_return co_await respond(router, *match, *request, nullptr);
        },
        10s);
  }

  static std::string detail_of(const Response& response) {
    auto doc = json::parse(response.body);
    if (!doc || !doc->is_object()) return "";
    return std::string(doc->as_object().at("detail").as_string());
  }

  EventLoop loop_{1};
  std::thread thread_;
  std::filesystem::path jwks_;
  std::shared_ptr<jwt::Verifier> verifier_;
};

TEST_F(AuthFilters, AVerifiedTokenPutsTheCallerOnTheRequest) {
  auto router = router_with({authenticate(verifier_)});
  auto response = get(router, "Bearer " + key().sign(claims()));
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body, std::string(kUser) +
                               "|https://issuer.test|storefront|token-1|profile|orders:read|"
                               "role:admin");
  // The scheme's name is case-insensitive (RFC 9110 §11.1).
  EXPECT_EQ(get(router, "bearer " + key().sign(claims())).status, 200);
}

TEST_F(AuthFilters, NoOrAnotherSchemeIs401WithAPlainChallenge) {
  auto router = router_with({authenticate(verifier_)});
  auto missing = get(router, std::nullopt);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.headers.get("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(missing.headers.get("Content-Type"), "application/problem+json");
  EXPECT_EQ(detail_of(missing), "the request has no Authorization header");
  auto basic = get(router, "Basic dXNlcjpwYXNz");
  EXPECT_EQ(basic.status, 401);
  EXPECT_EQ(basic.headers.get("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(detail_of(basic), "the Authorization header is not a bearer token");
}

TEST_F(AuthFilters, AMalformedOrExpiredTokenIs401InvalidToken) {
  auto router = router_with({authenticate(verifier_)});
  auto malformed = get(router, "Bearer not.a.jwt");
  EXPECT_EQ(malformed.status, 401);
  auto challenge = std::string(malformed.headers.get("WWW-Authenticate").value_or(""));
  EXPECT_TRUE(challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""))
      << challenge;

  auto old = claims();
  old["exp"] = seconds_from_now(-10min);
  auto expired = get(router, "Bearer " + key().sign(old));
  EXPECT_EQ(expired.status, 401);
  challenge = std::string(expired.headers.get("WWW-Authenticate").value_or(""));
  EXPECT_NE(challenge.find("error=\"invalid_token\""), std::string::npos) << challenge;
  EXPECT_NE(challenge.find("expired"), std::string::npos) << challenge;
  // The description is a quoted-string without quotes or backslashes inside (RFC 6750 §3).
  const auto inside = challenge.substr(challenge.find("error_description=\"") + 19);
  EXPECT_EQ(inside.find('"'), inside.size() - 1) << challenge;
  EXPECT_NE(detail_of(expired).find("expired"), std::string::npos);
}

TEST_F(AuthFilters, NoKeySetIs503) {
  auto router = router_with({authenticate(make_verifier("/nonexistent/stoa-jwks.json"))});
  auto response = get(router, "Bearer " + key().sign(claims()));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.headers.get("Retry-After"), "1");
}

TEST_F(AuthFilters, RequiredScopesAreAllOf) {
  auto has_both =
      router_with({authenticate(verifier_), require_scopes({"profile", "orders:read"})});
  EXPECT_EQ(get(has_both, "Bearer " + key().sign(claims())).status, 200);
  auto lacks_one =
      router_with({authenticate(verifier_), require_scopes({"profile", "orders:write"})});
  auto refused = get(lacks_one, "Bearer " + key().sign(claims()));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(detail_of(refused), "this endpoint needs the scope orders:write");
  EXPECT_EQ(refused.headers.get("WWW-Authenticate"),
            "Bearer error=\"insufficient_scope\", scope=\"profile orders:write\"");
}

TEST_F(AuthFilters, RequiredRolesAreAnyOf) {
  auto either = router_with({authenticate(verifier_), require_any_role({"support", "admin"})});
  EXPECT_EQ(get(either, "Bearer " + key().sign(claims())).status, 200);
  auto only_support = router_with({authenticate(verifier_), require_any_role({"support"})});
  auto refused = get(only_support, "Bearer " + key().sign(claims()));
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(detail_of(refused), "this needs the support role");
  auto two = router_with({authenticate(verifier_), require_any_role({"support", "auditor"})});
  EXPECT_EQ(detail_of(get(two, "Bearer " + key().sign(claims()))),
            "this needs one of the roles support, auditor");
}

TEST_F(AuthFilters, MeRoutesNeedAUserSubject) {
  auto router = router_with({authenticate(verifier_), require_user_subject()});
  EXPECT_EQ(get(router, "Bearer " + key().sign(claims())).status, 200);
  auto service = get(router, "Bearer " + key().sign(claims("auth-service")));
  EXPECT_EQ(service.status, 403);
  EXPECT_EQ(detail_of(service), "the token's subject is not a user");
}

TEST_F(AuthFilters, OptionalAuthenticationPassesAnonymousCallersOnly) {
  auto router = router_with({authenticate(verifier_, {.optional = true})});
  auto anonymous = get(router, std::nullopt);
  EXPECT_EQ(anonymous.status, 200);
  EXPECT_EQ(anonymous.body, "anonymous");
  auto known = get(router, "Bearer " + key().sign(claims()));
  EXPECT_EQ(known.status, 200);
  EXPECT_TRUE(known.body.starts_with(kUser));
  // A token that is there must verify: the client should learn its token is bad.
  EXPECT_EQ(get(router, "Bearer not.a.jwt").status, 401);
}

TEST_F(AuthFilters, AuthorizationWithoutAnAuthenticatedCallerIs401) {
  auto router = router_with({authenticate(verifier_, {.optional = true}), require_scopes({"x"})});
  auto response = get(router, std::nullopt);
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.headers.get("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(get(router_with({require_any_role({"admin"})}), std::nullopt).status, 401);
}

}  // namespace
}  // namespace stoa::http
