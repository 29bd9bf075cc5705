// The bearer-token verifier in a real stoa process, at the moment that used to go wrong: right
// after start-up. A file JWKS is loaded before the listeners open, so no request sees "no JWKS
// loaded yet"; a token that can never be valid is a 401 even when no JWKS can be had; and
// admin /readyz says whether a key set is loaded (check "jwks").
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "runtime/base64.h"
#include "support/raw_http.h"
#include "support/stoa_process.h"
#include "support/test_signing_key.h"

namespace stoa::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A user id no user has: an authenticated GET /v1/users/me for it is a 404.
constexpr const char* kNobody = "0190f5a4-7c3e-7a1b-8c2d-3e4f5a6b7c8d";

boost::json::object claims_for(const std::string& subject) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  // The defaults of [jwt]: issuer and audience.
  return {{"iss", "http://127.0.0.1:8100"},
          {"aud", "stoa"},
          {"sub", subject},
          {"iat", now},
          {"exp", now + 600}};
}

// GET /v1/users/me with the token on a fresh connection: the response's status.
int me_status(std::uint16_t port, const std::string& token) {
  return status_of(http_get(port, "/v1/users/me", "Authorization: Bearer " + token + "\r\n"));
}

class JwtSystem : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("stoa-jwt-systest-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (HasFailure() && process_) std::fprintf(stderr, "stoa log:\n%s\n", process_->log().c_str());
    process_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  fs::path dir_;
  std::unique_ptr<StoaProcess> process_;
};

TEST_F(JwtSystem, FiftyConcurrentRequestsRightAfterReadyFindTheFileJwksLoaded) {
  TestSigningKey key(TestSigningKey::Kind::es256, "systest");
  std::ofstream(dir_ / "jwks.json") << jwks_of({&key});
  // Several event-loop threads: each takes its share of the first requests at once.
  process_ = std::make_unique<StoaProcess>(
      std::vector<std::string>{"serve", "user"},
      std::map<std::string, std::string>{{"STOA_JWT_JWKS", (dir_ / "jwks.json").string()},
                                         {"STOA_PROCESS_THREADS", "4"}});
  ASSERT_TRUE(process_->wait_ready());

  const std::string token = key.sign(claims_for(kNobody));
  std::vector<int> statuses(50, 0);
  std::vector<std::thread> callers;
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    callers.emplace_back([&, i] { statuses[i] = me_status(process_->user_port, token); });
  }
  for (auto& caller : callers) caller.join();
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    EXPECT_EQ(statuses[i], 404) << "request " << i << " (503: the JWKS was not loaded yet)";
  }

  auto ready = http_get(process_->admin_port, "/readyz");
  EXPECT_EQ(status_of(ready), 200) << ready;
  EXPECT_NE(body_of(ready).find(R"("jwks":"ok")"), std::string::npos) << ready;
}

TEST_F(JwtSystem, OnTheDefaultsATokenThatCanNeverBeValidIs401AndReadyzNamesTheJwks) {
  // [jwt] as shipped: the JWKS URL is the auth service's, which this process does not run.
  process_ = std::make_unique<StoaProcess>(std::vector<std::string>{"up"});
  ASSERT_TRUE(process_->wait_ready());

  const std::string payload = boost::json::serialize(claims_for(kNobody));
  const std::string none =
      base64::encode_url(R"({"alg":"none","typ":"JWT"})") + "." + base64::encode_url(payload) + ".";
  auto refused =
      http_get(process_->user_port, "/v1/users/me", "Authorization: Bearer " + none + "\r\n");
  EXPECT_EQ(status_of(refused), 401) << refused;
  EXPECT_EQ(header_of(refused, "Content-Type"), "application/problem+json");
  TestSigningKey stranger(TestSigningKey::Kind::es256, "stranger");
  auto expired = claims_for(kNobody);
  expired["exp"] = 1'000'000'000;
  EXPECT_EQ(me_status(process_->user_port, stranger.sign(expired)), 401);
  // A token that could be valid needs the keys, which cannot be fetched.
  EXPECT_EQ(me_status(process_->user_port, stranger.sign(claims_for(kNobody))), 503);

  auto ready = http_get(process_->admin_port, "/readyz");
  EXPECT_EQ(status_of(ready), 503) << ready;
  auto body = boost::json::parse(body_of(ready));
  const auto& checks = body.at("checks").as_object();
  ASSERT_TRUE(checks.contains("jwks")) << ready;
  EXPECT_NE(std::string(checks.at("jwks").as_string()).find("JWKS"), std::string::npos) << ready;
  for (const auto& [name, outcome] : checks) {
    if (name != "jwks") {
      EXPECT_EQ(outcome, "ok") << name.data();
    }
  }
}

TEST_F(JwtSystem, AJwksFileThatCannotBeReadStopsStartUpNamingTheKey) {
  process_ = std::make_unique<StoaProcess>(
      std::vector<std::string>{"serve", "user"},
      std::map<std::string, std::string>{{"STOA_JWT_JWKS", (dir_ / "missing.json").string()}});
  EXPECT_EQ(process_->wait_exit(30s), std::optional<int>(1));
  EXPECT_NE(process_->log().find("jwt.jwks"), std::string::npos) << process_->log();
}

}  // namespace
}  // namespace stoa::test
