#pragma once
// Verifying the bearer JWTs that callers present (RFC 7519, JWS RFC 7515, JWK RFC 7517),
// once for every service. Only signatures by keys of a configured JWKS count; algorithms come
// from an allow-list (ES256, RS256, EdDSA — never "none", never HMAC with a public key); iss,
// aud, exp and nbf are always checked, before any key is needed: a token that can never be
// valid is refused without fetching the JWKS. A token signed by a key the set does not know
// makes the verifier fetch the JWKS again, at most once per refetch_interval (key rotation).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "runtime/async.h"
#include "runtime/clock.h"
#include "runtime/error.h"

namespace stoa {
class ComponentHost;
class Config;
class EventLoop;
namespace http {
struct Request;
}
}  // namespace stoa

namespace stoa::jwt {

struct Claims {
  std::string subject;                               // sub
  std::string issuer;                                // iss
  std::vector<std::string> audience;                 // aud (a string or an array in the token)
  std::chrono::system_clock::time_point expires_at;  // exp (required)
  std::optional<std::chrono::system_clock::time_point> not_before;  // nbf
  std::optional<std::chrono::system_clock::time_point> issued_at;   // iat
  std::string token_id;                                             // jti
  std::vector<std::string> scopes;  // scope: space-separated (RFC 8693)
  std::vector<std::string> roles;   // roles: an array of strings
  boost::json::object payload;      // every claim, for those a service defines itself

  bool has_scope(std::string_view scope) const;
  bool has_role(std::string_view role) const;
};

// The public keys of a JWKS document, by kid. Keys Stoa cannot use for an allowed algorithm
// (symmetric "oct" keys, other curves, RSA under 2048 bits) are left out.
class KeySet {
 public:
  // Errc::invalid_argument when the document is not a JWKS; an empty usable set is not an error.
  static Result<std::shared_ptr<const KeySet>> parse(std::string_view jwks_json);
  ~KeySet();
  KeySet(const KeySet&) = delete;
  KeySet& operator=(const KeySet&) = delete;

  std::size_t size() const;
  bool contains(std::string_view kid) const;

  // Whether `signature` is `alg`'s signature of `signed_part` by key `kid` ("" = the set's only
  // key). Errc::unauthenticated says why not (unknown key, algorithm not the key's, bad signature).
  Status verify(std::string_view kid, std::string_view alg, std::string_view signed_part,
                std::string_view signature) const;

 private:
  struct Impl;
  explicit KeySet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct VerifierOptions {
  std::string jwks;                    // "http(s)://…" or a file path
  std::string issuer;                  // iss must equal it
  std::vector<std::string> audiences;  // aud must hold one of them
  std::vector<std::string> algorithms{"ES256", "RS256", "EdDSA"};
  std::chrono::milliseconds max_clock_skew{30'000};    // leeway for exp, nbf and iat
  std::chrono::milliseconds refetch_interval{30'000};  // at most one JWKS fetch per interval
  // Bounds a fetch, and how long a caller waits for the load in flight.
  std::chrono::milliseconds fetch_timeout{5'000};
  std::size_t max_token_bytes = 8 * 1024;

  // [jwt] of stoa.toml; throws std::invalid_argument naming the key for a bad value.
  static VerifierOptions from_config(const Config& config);
  // Errc::invalid_argument for "none", an unknown algorithm, an empty issuer or audience list.
  Status validate() const;
};

// Exactly what verify() applies, at time `now`: the checks that need no key (form, algorithm,
// claims), then the signature.
Result<Claims> verify_token(std::string_view token, const KeySet& keys,
                            const VerifierOptions& options,
                            std::chrono::system_clock::time_point now);

// Thread-safe: one per process, used from every event-loop thread. `clock` (which must
// outlive the verifier) decides exp/nbf/iat and when the JWKS may be fetched again.
class Verifier {
 public:
  explicit Verifier(VerifierOptions options, const Clock& clock = Clock::real());
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // Errc::unauthenticated (with the reason) for a token that does not verify; unavailable when
  // the JWKS could not be loaded. A token refused by a check that needs no key never loads the
  // JWKS. Callers that arrive while the JWKS loads wait for that one load, up to
  // fetch_timeout.
  Awaitable<Result<Claims>> verify(std::string token);

  // Loads the JWKS before the first token needs it. A file is read now: its error (unreadable,
  // not a JWKS) is returned. A URL is fetched in the background on the loop's first context
  // (the server may not be up yet): Ok at once, and verify() and ready() wait for that fetch.
  Status preload(EventLoop& loop);

  // Ok once a key set has been loaded. Until then it waits for the load in flight, or starts
  // one when the refetch interval allows, and says why no key set is loaded (admin /readyz).
  Awaitable<Status> ready();

  // The token of an `Authorization: Bearer …` header, verified. Errc::unauthenticated when the
  // header is missing or not a bearer token.
  Awaitable<Result<Claims>> authenticate(const http::Request& request);

  const VerifierOptions& options() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// The token of an `Authorization` header's value when it is `Bearer <token>` (the scheme's
// case ignored); nullopt for any other scheme or an empty token.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// The process's verifier, shared by its components (ComponentHost::shared), from [jwt]:
// preloaded (a JWKS file that cannot be read stops start-up with a message naming jwt.jwks),
// with the readiness check "jwks" (ready()).
std::shared_ptr<Verifier> verifier(ComponentHost& host);

}  // namespace stoa::jwt
