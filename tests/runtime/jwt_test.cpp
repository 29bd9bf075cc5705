// Bearer JWT verification against keys minted by the test: every algorithm of the allow-list,
// every claim check, the attacks RFC 8725 lists (none, algorithm confusion, key confusion),
// JWKS rotation from a file and from a URL, and a cold verifier under concurrent callers.
#include "runtime/jwt.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <optional>
#include <thread>

#include "runtime/base64.h"
#include "runtime/clock.h"
#include "runtime/event_loop.h"
#include "runtime/http_server.h"
#include "runtime/http_types.h"
#include "runtime/router.h"
#include "support/loopback_server.h"
#include "support/run_sync.h"
#include "support/scratch_dir.h"
#include "support/test_signing_key.h"

namespace stoa::jwt {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;
using test::TestSigningKey;

std::int64_t seconds_from_now(std::chrono::seconds offset) {
  return std::chrono::duration_cast<std::chrono::seconds>(
             (Clock::now() + offset).time_since_epoch())
      .count();
}

boost::json::object good_claims() {
  return {{"iss", "https://issuer.test"},
          {"aud", "stoa"},
          {"sub", "user-1"},
          {"exp", seconds_from_now(5min)},
          {"iat", seconds_from_now(-1s)},
          {"scope", "profile orders:read"},
          {"roles", boost::json::array{"admin"}}};
}

VerifierOptions options() {
  VerifierOptions result;
  result.issuer = "https://issuer.test";
  result.audiences = {"stoa"};
  return result;
}

struct Keys {
  TestSigningKey es{TestSigningKey::Kind::es256, "es-1"};
  TestSigningKey rs{TestSigningKey::Kind::rs256, "rs-1"};
  TestSigningKey ed{TestSigningKey::Kind::eddsa, "ed-1"};
  std::shared_ptr<const KeySet> set = KeySet::parse(test::jwks_of({&es, &rs, &ed})).value();
};

Keys& keys() {
  static Keys instance;  // RSA key generation is slow: once per test binary
  return instance;
}

Result<Claims> check(const std::string& token, const VerifierOptions& opts = options()) {
  return verify_token(token, *keys().set, opts, Clock::now());
}

std::string error_of(const Result<Claims>& result) {
  return result.ok() ? "(verified)" : result.error().message;
}

// header.payload.signature with the given parts, each base64url-encoded as is.
std::string compact(const std::string& header, const std::string& payload,
                    const std::string& signature) {
  return base64::encode_url(header) + "." + base64::encode_url(payload) + "." +
         base64::encode_url(signature);
}

TEST(Jwt, VerifiesEachAllowedAlgorithmAndReadsTheClaims) {
  for (const TestSigningKey* key : {&keys().es, &keys().rs, &keys().ed}) {
    auto claims = check(key->sign(good_claims()));
    ASSERT_TRUE(claims.ok()) << key->alg() << ": " << error_of(claims);
    EXPECT_EQ(claims->subject, "user-1");
    EXPECT_EQ(claims->issuer, "https://issuer.test");
    EXPECT_EQ(claims->audience, std::vector<std::string>{"stoa"});
    EXPECT_TRUE(claims->has_scope("orders:read"));
    EXPECT_FALSE(claims->has_scope("orders"));
    EXPECT_TRUE(claims->has_role("admin"));
    EXPECT_TRUE(claims->payload.contains("iat"));
  }
}

TEST(Jwt, AcceptsAnAudienceArrayHoldingOneOfOurs) {
  auto payload = good_claims();
  payload["aud"] = boost::json::array{"other", "stoa"};
  EXPECT_TRUE(check(keys().es.sign(payload)).ok());
  payload["aud"] = boost::json::array{"other"};
  EXPECT_EQ(check(keys().es.sign(payload)).error().code, Errc::unauthenticated);
}

TEST(Jwt, RefusesAlgNoneAndAlgorithmsOutsideTheAllowList) {
  const std::string payload = boost::json::serialize(good_claims());
  auto none = check(compact(R"({"alg":"none","typ":"JWT"})", payload, ""));
  EXPECT_EQ(none.error().code, Errc::unauthenticated);
  EXPECT_NE(error_of(none).find("not allowed"), std::string::npos);

  auto only_es = options();
  only_es.algorithms = {"ES256"};
  EXPECT_FALSE(check(keys().rs.sign(good_claims()), only_es).ok());
  EXPECT_TRUE(check(keys().es.sign(good_claims()), only_es).ok());

  EXPECT_TRUE(only_es.validate().ok());
  auto with_none = options();
  with_none.algorithms = {"none"};
  EXPECT_EQ(with_none.validate().error().code, Errc::invalid_argument);
  with_none.algorithms = {"HS256"};
  EXPECT_EQ(with_none.validate().error().code, Errc::invalid_argument);
}

TEST(Jwt, RefusesAlgorithmConfusion) {
  // An HS256 token "signed" with the RSA public key as the HMAC secret: the classic attack.
  const std::string input = base64::encode_url(R"({"alg":"HS256","kid":"rs-1"})") + "." +
                            base64::encode_url(boost::json::serialize(good_claims()));
  auto hs = check(input + "." + base64::encode_url(std::string(32, 'x')));
  EXPECT_EQ(hs.error().code, Errc::unauthenticated);
  // The RSA key's kid under ES256: the key's type fixes its algorithm.
  auto confused = check(keys().es.sign(good_claims(), {{"kid", "rs-1"}}));
  EXPECT_EQ(confused.error().code, Errc::unauthenticated);
  EXPECT_NE(error_of(confused).find("not its key's"), std::string::npos);
}

TEST(Jwt, RefusesTamperedTokens) {
  const std::string token = keys().ed.sign(good_claims());
  const auto first = token.find('.');
  const auto second = token.rfind('.');
  auto payload = good_claims();
  payload["sub"] = "user-2";
  const std::string forged = token.substr(0, first + 1) +
                             base64::encode_url(boost::json::serialize(payload)) +
                             token.substr(second);
  EXPECT_NE(error_of(check(forged)).find("signature"), std::string::npos);
  std::string flipped = token;
  flipped[second + 5] = flipped[second + 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(check(flipped).ok());
  // An ES256 signature of the wrong length.
  const std::string es = keys().es.sign(good_claims());
  EXPECT_FALSE(check(es.substr(0, es.rfind('.') + 1) + base64::encode_url("short")).ok());
}

TEST(Jwt, ChecksExpiryNotBeforeIssuedAtWithTheClockSkew) {
  auto payload = good_claims();
  payload["exp"] = seconds_from_now(-10s);  // within the 30 s skew
  EXPECT_TRUE(check(keys().es.sign(payload)).ok());
  payload["exp"] = seconds_from_now(-2min);
  EXPECT_NE(error_of(check(keys().es.sign(payload))).find("expired"), std::string::npos);
  payload.erase("exp");
  EXPECT_NE(error_of(check(keys().es.sign(payload))).find("no expiry"), std::string::npos);
  payload = good_claims();
  payload["nbf"] = seconds_from_now(2min);
  EXPECT_NE(error_of(check(keys().es.sign(payload))).find("nbf"), std::string::npos);
  payload = good_claims();
  payload["iat"] = seconds_from_now(2min);
  EXPECT_NE(error_of(check(keys().es.sign(payload))).find("iat"), std::string::npos);
  payload = good_claims();
  payload["exp"] = "tomorrow";
  EXPECT_FALSE(check(keys().es.sign(payload)).ok());
  payload["exp"] = 1e300;
  EXPECT_FALSE(check(keys().es.sign(payload)).ok());
}

TEST(Jwt, ChecksIssuerAndAudience) {
  auto payload = good_claims();
  payload["iss"] = "https://evil.test";
  EXPECT_NE(error_of(check(keys().es.sign(payload))).find("issuer"), std::string::npos);
  payload = good_claims();
  payload.erase("aud");
  EXPECT_NE(error_of(check(keys().es.sign(payload))).find("audience"), std::string::npos);
  payload = good_claims();
  payload["roles"] = boost::json::array{1, 2};
  EXPECT_FALSE(check(keys().es.sign(payload)).ok());
}

// RFC 9068 §7.2.1.1: roles is an array of strings. A lone string is a malformed token, never
// one role: the same string in `aud` is allowed (RFC 7519 §4.1.3), in `roles` it is not.
TEST(Jwt, RolesMustBeAnArrayOfStrings) {
  auto payload = good_claims();
  payload["roles"] = "admin";
  auto refused = check(keys().es.sign(payload));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::unauthenticated);
  EXPECT_NE(refused.error().message.find("roles"), std::string::npos) << refused.error().message;
  payload["roles"] = boost::json::array{"admin", "support"};
  auto accepted = check(keys().es.sign(payload));
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_TRUE(accepted->has_role("admin"));
  payload["roles"] = boost::json::array{};
  accepted = check(keys().es.sign(payload));
  ASSERT_TRUE(accepted.ok());
  EXPECT_FALSE(accepted->has_role("admin"));
  payload["aud"] = "stoa";
  EXPECT_TRUE(check(keys().es.sign(payload)).ok()) << "a lone audience string stays allowed";
}

TEST(Jwt, RefusesMalformedTokensWithAReason) {
  for (const std::string& token : {std::string(), std::string("a.b"), std::string("a.b.c.d"),
                                   std::string("!!.e30.e30"), compact("not json", "{}", "x"),
                                   compact("[]", "{}", "x"), std::string(9000, 'a') + ".b.c"}) {
    auto result = check(token);
    ASSERT_FALSE(result.ok()) << token.substr(0, 40);
    EXPECT_EQ(result.error().code, Errc::unauthenticated);
    EXPECT_FALSE(result.error().message.empty());
  }
  auto crit = check(keys().es.sign(good_claims(), {{"crit", boost::json::array{"exp"}}}));
  EXPECT_NE(error_of(crit).find("critical"), std::string::npos);
  auto typ = check(keys().es.sign(good_claims(), {{"typ", "dpop+jwt"}}));
  EXPECT_FALSE(typ.ok());
}

TEST(Jwt, UnknownKeysAndUnusableJwksEntries) {
  TestSigningKey stranger(TestSigningKey::Kind::es256, "stranger");
  EXPECT_NE(error_of(check(stranger.sign(good_claims()))).find("not in the JWKS"),
            std::string::npos);
  // A known kid with another key's signature.
  EXPECT_NE(error_of(check(stranger.sign(good_claims(), {{"kid", "es-1"}}))).find("signature"),
            std::string::npos);

  TestSigningKey weak(TestSigningKey::Kind::rsa1024, "weak");
  auto point = keys().es.public_jwk();
  point["kid"] = "off-curve";
  point["y"] = base64::encode_url(std::string(32, '\x01'));
  boost::json::object oct{{"kty", "oct"}, {"kid", "hmac"}, {"k", "c2VjcmV0"}};
  boost::json::object enc = keys().es.public_jwk();
  enc["kid"] = "enc";
  enc["use"] = "enc";
  boost::json::object jwks{{"keys", boost::json::array{weak.public_jwk(), point, oct, enc, 7}}};
  auto set = KeySet::parse(boost::json::serialize(jwks));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set.value()->size(), 0u);

  EXPECT_EQ(KeySet::parse("{}").error().code, Errc::invalid_argument);
  EXPECT_EQ(KeySet::parse("nope").error().code, Errc::invalid_argument);
}

TEST(Jwt, ATokenWithoutKidNeedsASingleKeySet) {
  auto only = KeySet::parse(test::jwks_of({&keys().ed})).value();
  const std::string input = base64::encode_url(R"({"alg":"EdDSA"})") + "." +
                            base64::encode_url(boost::json::serialize(good_claims()));
  const std::string token = input + "." + base64::encode_url(keys().ed.signature_of(input));
  EXPECT_TRUE(verify_token(token, *only, options(), Clock::now()).ok());
  EXPECT_FALSE(check(token).ok());  // three keys: which one?
}

// --- the Verifier: JWKS from a file and from a URL, rotation -----------------------------------

class LoopThread {
 public:
  explicit LoopThread(std::size_t threads = 1) : loop_(threads), thread_([this] { loop_.run(); }) {}
  ~LoopThread() {
    loop_.stop();
    thread_.join();
  }
  EventLoop& loop() { return loop_; }

  Result<Claims> verify(Verifier& verifier, std::string token) {
    return run([&verifier, token]() -> Awaitable<Result<Claims>> {
      co_return co_await verifier.verify(token);
    });
  }

  // Runs a coroutine on the loop and waits for it.
  Result<Claims> run(std::function<Awaitable<Result<Claims>>()> make) {
    return ::stoa::test::run_sync(loop_, std::move(make), 10s);
  }

 private:
  EventLoop loop_;
  std::thread thread_;
};

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// A JWKS file of the test's own (removed with its directory at the end), and the options
// that read it.
struct JwksFile {
  explicit JwksFile(const std::string& jwks) { write(jwks); }
  void write(const std::string& jwks) const { write_file(path, jwks); }
  VerifierOptions options() const {
    auto opts = ::stoa::jwt::options();
    opts.jwks = path;
    return opts;
  }

  test::ScratchDir dir{"stoa-jwks"};
  std::string path = dir.path() + "/jwks.json";
};

TEST(JwtVerifier, RotatesKeysFromAFileAtMostOncePerInterval) {
  JwksFile file(test::jwks_of({&keys().es}));
  auto opts = file.options();
  opts.refetch_interval = 0ms;
  LoopThread loop;
  Verifier verifier(opts);
  EXPECT_TRUE(loop.verify(verifier, keys().es.sign(good_claims())).ok());

  // The issuer rotates to a new key: the first token signed by it makes the verifier reload.
  TestSigningKey next(TestSigningKey::Kind::es256, "es-2");
  file.write(test::jwks_of({&keys().es, &next}));
  EXPECT_TRUE(loop.verify(verifier, next.sign(good_claims())).ok());

  // With a long interval, an unknown kid does not make it read again.
  opts.refetch_interval = 1h;
  Verifier slow(opts);
  EXPECT_TRUE(loop.verify(slow, keys().es.sign(good_claims())).ok());
  TestSigningKey third(TestSigningKey::Kind::es256, "es-3");
  file.write(test::jwks_of({&keys().es, &next, &third}));
  EXPECT_FALSE(loop.verify(slow, third.sign(good_claims())).ok());
}

// The interval is measured on the verifier's clock: once it has passed, a new key is read
// again, and not a moment before.
TEST(JwtVerifier, AKeyRotatedInIsReadOnceTheRefetchIntervalHasPassed) {
  JwksFile file(test::jwks_of({&keys().es}));
  auto opts = file.options();
  opts.refetch_interval = 30s;
  ManualClock clock;
  LoopThread loop;
  Verifier verifier(opts, clock);
  EXPECT_TRUE(loop.verify(verifier, keys().es.sign(good_claims())).ok());
  TestSigningKey next(TestSigningKey::Kind::es256, "es-next");
  file.write(test::jwks_of({&keys().es, &next}));
  clock.advance(30s - 1ms);
  EXPECT_FALSE(loop.verify(verifier, next.sign(good_claims())).ok());
  clock.advance(1ms);
  EXPECT_TRUE(loop.verify(verifier, next.sign(good_claims())).ok());
}

// A token that was valid stops verifying once its exp (plus the allowed skew) passes on the
// verifier's clock; one not valid yet starts verifying at its nbf (minus the skew).
TEST(JwtVerifier, ATokenExpiresWhileTheVerifierRuns) {
  JwksFile file(test::jwks_of({&keys().es}));
  auto opts = file.options();
  opts.max_clock_skew = 30s;
  ManualClock clock(std::chrono::system_clock::time_point{1'700'000'000s});
  LoopThread loop;
  Verifier verifier(opts, clock);
  auto claims = good_claims();
  claims["iat"] = 1'700'000'000;
  claims["exp"] = 1'700'000'000 + 300;
  const std::string token = keys().es.sign(claims);
  EXPECT_TRUE(loop.verify(verifier, token).ok());
  clock.advance(300s + 30s - 1ms);
  EXPECT_TRUE(loop.verify(verifier, token).ok()) << "within the skew";
  clock.advance(1ms);
  auto expired = loop.verify(verifier, token);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, Errc::unauthenticated);
  EXPECT_EQ(expired.error().message, "the token has expired");

  auto later = good_claims();
  const std::int64_t now_s = 1'700'000'000 + 330;
  later["iat"] = now_s;
  later["nbf"] = now_s + 60;
  later["exp"] = now_s + 600;
  const std::string early = keys().es.sign(later);
  EXPECT_EQ(error_of(loop.verify(verifier, early)), "the token is not valid yet (nbf)");
  clock.advance(30s);  // nbf - skew
  EXPECT_TRUE(loop.verify(verifier, early).ok());
}

TEST(JwtVerifier, FetchesTheJwksFromAUrlAndSaysWhenItCannot) {
  LoopThread loop;
  auto fetches = std::make_shared<std::atomic<int>>(0);
  auto router = std::make_shared<http::Router>();
  const std::string body = test::jwks_of({&keys().rs});
  router->add("GET", "/jwks.json", [body, fetches](http::Request&) -> Awaitable<http::Response> {
    ++*fetches;
    co_return http::Response::json(200, body);
  });
  http::ListenerOptions listener;
  listener.name = "jwks";
  http::Server server(loop.loop(), listener, http::ServerLimits{}, router, nullptr);
  server.start();

  auto opts = options();
  opts.jwks = "http://127.0.0.1:" + std::to_string(server.port()) + "/jwks.json";
  Verifier verifier(opts);
  EXPECT_TRUE(loop.verify(verifier, keys().rs.sign(good_claims())).ok());
  EXPECT_TRUE(loop.verify(verifier, keys().rs.sign(good_claims())).ok());
  EXPECT_EQ(fetches->load(), 1);  // cached

  opts.jwks = "http://127.0.0.1:" + std::to_string(server.port()) + "/missing";
  Verifier broken(opts);
  auto result = loop.verify(broken, keys().rs.sign(good_claims()));
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_NE(result.error().message.find("404"), std::string::npos);
  server.close_all();
}

TEST(JwtVerifier, AuthenticatesBearerHeadersOnly) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("stoa-jwks-auth-" + std::to_string(::getpid()) + ".json");
  write_file(path, test::jwks_of({&keys().ed}));
  auto opts = options();
  opts.jwks = path.string();
  LoopThread loop;
  Verifier verifier(opts);
  auto authenticate = [&](std::optional<std::string> header) {
    auto request = std::make_shared<http::Request>();
    if (header) request->headers.add("Authorization", *header);
    return loop.run([&verifier, request]() -> Awaitable<Result<Claims>> {
      co_return co_await verifier.authenticate(*request);
    });
  };
  EXPECT_TRUE(authenticate("Bearer " + keys().ed.sign(good_claims())).ok());
  EXPECT_TRUE(authenticate("bearer " + keys().ed.sign(good_claims())).ok());
  EXPECT_EQ(authenticate(std::nullopt).error().code, Errc::unauthenticated);
  EXPECT_EQ(authenticate("Basic dXNlcjpwYXNz").error().code, Errc::unauthenticated);
  EXPECT_EQ(authenticate("Bearer ").error().code, Errc::unauthenticated);
  std::filesystem::remove(path);
}

// A JWKS URL on a loopback server of the test's own: it counts the fetches, answers each after
// `delay`, and 503 while `serving` is false.
class JwksServer {
 public:
  explicit JwksServer(std::string jwks, std::chrono::milliseconds delay = 0ms) {
    auto router = std::make_shared<http::Router>();
    router->add("GET", "/jwks.json",
                [jwks = std::move(jwks), delay, fetches = fetches_,
                 serving = serving_](http::Request&) -> Awaitable<http::Response> {
                  ++*fetches;
                  if (delay > 0ms) {
                    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor,
                                                    delay);
                    co_await timer.async_wait(boost::asio::use_awaitable);
                  }
                  if (!*serving) co_return http::Response::json(503, "{}");
                  co_return http::Response::json(200, jwks);
                });
    // Its own loop and thread: a slow answer never holds up the verifier's loop.
    server_ =
        std::make_unique<test::LoopbackServer>(std::move(router), http::ServerLimits{}, "jwks");
  }

  std::string url(const std::string& path = "/jwks.json") const { return server_->url(path); }
  int fetches() const { return fetches_->load(); }
  void serve(bool on) { *serving_ = on; }

 private:
  std::shared_ptr<std::atomic<int>> fetches_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<bool>> serving_ = std::make_shared<std::atomic<bool>>(true);
  std::unique_ptr<test::LoopbackServer> server_;
};

// Before any key set is loaded, a failed load is retried after a second, not after the whole
// refetch interval: on `stoa up` the auth service may start a moment after its callers.
TEST(JwtVerifier, AFailedFirstLoadIsRetriedWithinASecond) {
  JwksServer jwks(test::jwks_of({&keys().es}));
  jwks.serve(false);
  auto opts = options();
  opts.jwks = jwks.url();
  opts.refetch_interval = 1h;
  ManualClock clock;
  LoopThread loop;
  Verifier verifier(opts, clock);
  const std::string token = keys().es.sign(good_claims());
  auto refused = loop.verify(verifier, token);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_EQ(jwks.fetches(), 1);
  // At once again: still within the bound, no second fetch.
  EXPECT_EQ(loop.verify(verifier, token).error().code, Errc::unavailable);
  EXPECT_EQ(jwks.fetches(), 1);
  jwks.serve(true);
  clock.advance(999ms);
  EXPECT_EQ(loop.verify(verifier, token).error().code, Errc::unavailable);
  EXPECT_EQ(jwks.fetches(), 1) << "not before a second has passed";
  clock.advance(1ms);
  auto verified = loop.verify(verifier, token);
  EXPECT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(jwks.fetches(), 2);
  // Once loaded, the refetch interval holds again: an unknown kid does not fetch.
  TestSigningKey unknown(TestSigningKey::Kind::es256, "es-unknown");
  EXPECT_FALSE(loop.verify(verifier, unknown.sign(good_claims())).ok());
  EXPECT_EQ(jwks.fetches(), 2);
}

// Starts `count` verifications of `token` at once, spread over the loop's contexts, and
// waits for them all.
std::vector<Result<Claims>> verify_at_once(LoopThread& loop, Verifier& verifier,
                                           const std::string& token, int count) {
  std::vector<std::future<Result<Claims>>> running;
  for (int i = 0; i < count; ++i) {
    auto& context = loop.loop().context(static_cast<std::size_t>(i) % loop.loop().size());
    running.push_back(
        ::stoa::test::spawn_future(context, [&verifier, token]() -> Awaitable<Result<Claims>> {
          co_return co_await verifier.verify(token);
        }));
  }
  std::vector<Result<Claims>> results;
  for (auto& future : running) {
    if (future.wait_for(60s) != std::future_status::ready) {
      ADD_FAILURE() << "a verification hung";
      std::abort();  // its coroutine still refers to this frame
    }
    results.push_back(future.get());
  }
  return results;
}

TEST(JwtVerifier, ConcurrentCallersOnAColdVerifierWaitForTheOneFetch) {
  JwksServer jwks(test::jwks_of({&keys().es}), 300ms);
  auto opts = options();
  opts.jwks = jwks.url();
  LoopThread loop(2);
  Verifier verifier(opts);
  const auto results = verify_at_once(loop, verifier, keys().es.sign(good_claims()), 50);
  for (const auto& result : results) EXPECT_TRUE(result.ok()) << error_of(result);
  EXPECT_EQ(jwks.fetches(), 1);
}

TEST(JwtVerifier, AWaitForAJwksThatDoesNotAnswerEndsIn503NotAHang) {
  JwksServer jwks(test::jwks_of({&keys().es}), 10s);  // far beyond fetch_timeout
  auto opts = options();
  opts.jwks = jwks.url();
  opts.fetch_timeout = 200ms;
  LoopThread loop(2);
  Verifier verifier(opts);
  const auto results = verify_at_once(loop, verifier, keys().es.sign(good_claims()), 10);
  for (const auto& result : results) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, Errc::unavailable) << result.error().message;
  }
  EXPECT_EQ(jwks.fetches(), 1);
}

TEST(JwtVerifier, RefusesTokensThatCanNeverBeValidWithoutFetchingKeys) {
  JwksServer jwks(test::jwks_of({&keys().es}));
  auto opts = options();
  opts.jwks = jwks.url();
  LoopThread loop;
  Verifier verifier(opts);
  const std::string payload = boost::json::serialize(good_claims());
  auto expired = good_claims();
  expired["exp"] = seconds_from_now(-1h);
  auto other_issuer = good_claims();
  other_issuer["iss"] = "https://evil.test";
  auto other_audience = good_claims();
  other_audience["aud"] = "someone-else";
  auto no_expiry = good_claims();
  no_expiry.erase("exp");
  for (const std::string& token :
       {compact(R"({"alg":"none","typ":"JWT"})", payload, ""),
        compact(R"({"alg":"HS256","kid":"es-1"})", payload, "x"), std::string("a.b"),
        std::string("!!.e30.e30"), keys().es.sign(expired), keys().es.sign(other_issuer),
        keys().es.sign(other_audience), keys().es.sign(no_expiry)}) {
    auto result = loop.verify(verifier, token);
    ASSERT_FALSE(result.ok()) << token;
    EXPECT_EQ(result.error().code, Errc::unauthenticated) << result.error().message;
  }
  EXPECT_EQ(jwks.fetches(), 0);
  EXPECT_TRUE(loop.verify(verifier, keys().es.sign(good_claims())).ok());
  EXPECT_EQ(jwks.fetches(), 1);

  // With no JWKS to be had, such a token is still a 401, and only a plausible one a 503.
  opts.jwks = jwks.url("/missing");
  Verifier unreachable(opts);
  EXPECT_EQ(loop.verify(unreachable, compact(R"({"alg":"none"})", payload, "")).error().code,
            Errc::unauthenticated);
  EXPECT_EQ(loop.verify(unreachable, keys().es.sign(good_claims())).error().code,
            Errc::unavailable);
}

TEST(JwtVerifier, IsReadyOnlyOnceAKeySetIsLoaded) {
  JwksServer jwks(test::jwks_of({&keys().es}));
  jwks.serve(false);
  auto opts = options();
  opts.jwks = jwks.url();
  opts.refetch_interval = 0ms;
  LoopThread loop;
  Verifier verifier(opts);
  auto ready = [&] {
    return ::stoa::test::run_sync(
        loop.loop(), [&verifier]() -> Awaitable<Status> { co_return co_await verifier.ready(); },
        10s);
  };
  auto not_yet = ready();
  ASSERT_FALSE(not_yet.ok());
  EXPECT_EQ(not_yet.error().code, Errc::unavailable);
  EXPECT_NE(not_yet.error().message.find("503"), std::string::npos) << not_yet.error().message;
  jwks.serve(true);
  EXPECT_TRUE(ready().ok());  // the check itself loads the keys
  EXPECT_TRUE(loop.verify(verifier, keys().es.sign(good_claims())).ok());
  EXPECT_EQ(jwks.fetches(), 2);
}

TEST(JwtVerifier, PreloadReadsAFileNowAndStartsAUrlFetchThatCallersJoin) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("stoa-jwks-preload-" + std::to_string(::getpid()) + ".json");
  write_file(path, test::jwks_of({&keys().ed}));
  auto opts = options();
  opts.jwks = path.string();
  EventLoop idle(1);  // a file is read by preload itself: no loop needs to run
  Verifier from_file(opts);
  EXPECT_TRUE(from_file.preload(idle).ok());
  std::filesystem::remove(path);  // the keys are in memory already
  LoopThread loop;
  EXPECT_TRUE(loop.verify(from_file, keys().ed.sign(good_claims())).ok());

  opts.jwks = path.string();  // now missing
  EXPECT_EQ(Verifier(opts).preload(idle).error().code, Errc::unavailable);
  write_file(path, "not a JWKS");
  EXPECT_EQ(Verifier(opts).preload(idle).error().code, Errc::invalid_argument);
  std::filesystem::remove(path);

  JwksServer jwks(test::jwks_of({&keys().es}), 300ms);
  opts.jwks = jwks.url();
  LoopThread workers(2);
  Verifier from_url(opts);
  EXPECT_TRUE(from_url.preload(workers.loop()).ok());
  const auto results = verify_at_once(workers, from_url, keys().es.sign(good_claims()), 20);
  for (const auto& result : results) EXPECT_TRUE(result.ok()) << error_of(result);
  EXPECT_EQ(jwks.fetches(), 1);
}

}  // namespace
}  // namespace stoa::jwt
