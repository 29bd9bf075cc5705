// jwt::verify_token and the Verifier: parsing a compact JWS, checking its claims, and keeping
// the JWKS (from a file or a URL) current.
#include "runtime/jwt.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include "runtime/base64.h"
#include "runtime/component.h"
#include "runtime/config.h"
#include "runtime/http_client.h"
#include "runtime/http_types.h"
#include "runtime/json.h"

namespace stoa::jwt {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::system_clock;

Error unauthenticated(std::string why) {
  return Error{Errc::unauthenticated, std::move(why)};
}

const std::vector<std::string>& supported_algorithms() {
  static const std::vector<std::string> algorithms{"ES256", "RS256", "EdDSA"};
  return algorithms;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// A NumericDate (RFC 7519 §2): seconds since the epoch, possibly fractional.
std::optional<Clock::time_point> numeric_date(const boost::json::value& value) {
  double seconds = 0;
  if (value.is_int64()) {
    seconds = static_cast<double>(value.as_int64());
  } else if (value.is_uint64()) {
    seconds = static_cast<double>(value.as_uint64());
  } else if (value.is_double()) {
    seconds = value.as_double();
  } else {
    return std::nullopt;
  }
  // Beyond year 9999 or before 1970 is not a date a token means.
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 253402300799.0) return std::nullopt;
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
}

Result<std::optional<Clock::time_point>> date_claim(const boost::json::object& payload,
                                                    std::string_view name) {
  const auto* value = payload.if_contains(name);
  if (value == nullptr) return std::optional<Clock::time_point>();
  auto date = numeric_date(*value);
  if (!date) return unauthenticated("the token's \"" + std::string(name) + "\" is not a date");
  return std::optional<Clock::time_point>(*date);
}

Result<std::string> string_claim(const boost::json::object& payload, std::string_view name) {
  const auto* value = payload.if_contains(name);
  if (value == nullptr) return std::string();
  if (!value->is_string()) {
    return unauthenticated("the token's \"" + std::string(name) + "\" is not a string");
  }
  return std::string(value->as_string());
}

// `aud` may be one string (RFC 7519 §4.1.3); `roles` must be an array (RFC 9068 §7.2.1.1,
// docs/runtime.md): a lone "admin" string is a malformed token, not a role.
enum class Single { allowed, refused };

Result<std::vector<std::string>> strings_claim(const boost::json::object& payload,
                                               std::string_view name, Single single) {
  std::vector<std::string> out;
  const auto* value = payload.if_contains(name);
  if (value == nullptr) return out;
  if (value->is_string() && single == Single::allowed) {
    out.emplace_back(value->as_string());
    return out;
  }
  if (value->is_array()) {
    for (const auto& item : value->as_array()) {
      if (!item.is_string()) break;
      out.emplace_back(item.as_string());
    }
    if (out.size() == value->as_array().size()) return out;
  }
  return unauthenticated("the token's \"" + std::string(name) + "\" is not a list of strings");
}

Result<Claims> read_claims(boost::json::object payload) {
  Claims claims;
  auto subject = string_claim(payload, "sub");
  auto issuer = string_claim(payload, "iss");
  auto token_id = string_claim(payload, "jti");
  auto scope = string_claim(payload, "scope");
  auto audience = strings_claim(payload, "aud", Single::allowed);
  auto roles = strings_claim(payload, "roles", Single::refused);
  auto expires = date_claim(payload, "exp");
  auto not_before = date_claim(payload, "nbf");
  auto issued = date_claim(payload, "iat");
  for (const Error* error :
       {subject.ok() ? nullptr : &subject.error(), issuer.ok() ? nullptr : &issuer.error(),
        token_id.ok() ? nullptr : &token_id.error(), scope.ok() ? nullptr : &scope.error(),
        audience.ok() ? nullptr : &audience.error(), roles.ok() ? nullptr : &roles.error(),
        expires.ok() ? nullptr : &expires.error(), not_before.ok() ? nullptr : &not_before.error(),
        issued.ok() ? nullptr : &issued.error()}) {
    if (error != nullptr) return *error;
  }
  if (!*expires) return unauthenticated("the token has no expiry (exp)");
  claims.subject = std::move(*subject);
  claims.issuer = std::move(*issuer);
  claims.token_id = std::move(*token_id);
  claims.audience = std::move(*audience);
  claims.roles = std::move(*roles);
  claims.expires_at = **expires;
  claims.not_before = *not_before;
  claims.issued_at = *issued;
  std::istringstream words(*scope);
  for (std::string word; words >> word;) claims.scopes.push_back(word);
  claims.payload = std::move(payload);
  return claims;
}

Result<boost::json::object> decode_part(std::string_view part, std::string_view what) {
  auto bytes = base64::decode_url(part);
  if (!bytes) return unauthenticated("the token's " + std::string(what) + " is not base64url");
  auto value = json::parse(*bytes, json::Limits{8 * 1024, 8});
  if (!value || !value->is_object()) {
    return unauthenticated("the token's " + std::string(what) + " is not a JSON object");
  }
  return std::move(value->as_object());
}

}  // namespace

bool Claims::has_scope(std::string_view scope) const {
  return contains(scopes, scope);
}

bool Claims::has_role(std::string_view role) const {
  return contains(roles, role);
}

Status VerifierOptions::validate() const {
  if (algorithms.empty()) return Error{Errc::invalid_argument, "jwt.algorithms is empty"};
  for (const auto& alg : algorithms) {
    if (!contains(supported_algorithms(), alg)) {
      return Error{Errc::invalid_argument,
                   "jwt.algorithms: " + quote_for_message(alg) +
                       " is not one Stoa accepts (ES256, RS256, EdDSA; never none or HMAC)"};
    }
  }
  if (issuer.empty()) return Error{Errc::invalid_argument, "jwt.issuer is empty"};
  if (audiences.empty()) return Error{Errc::invalid_argument, "jwt.audiences is empty"};
  return Ok{};
}

VerifierOptions VerifierOptions::from_config(const Config& config) {
  VerifierOptions options;
  options.jwks = config.string("jwt.jwks");
  options.issuer = config.string("jwt.issuer");
  options.audiences = config.strings("jwt.audiences");
  options.algorithms = config.strings("jwt.algorithms");
  options.max_clock_skew = config.duration("jwt.max_clock_skew");
  options.refetch_interval = config.duration("jwt.refetch_interval");
  options.fetch_timeout = config.duration("jwt.fetch_timeout");
  options.max_token_bytes = config.bytes("jwt.max_token_bytes");
  auto valid = options.validate();
  if (!valid) throw std::invalid_argument(valid.error().message);
  return options;
}

Result<Claims> verify_token(std::string_view token, const KeySet& keys,
                            const VerifierOptions& options, Clock::time_point now) {
  if (token.size() > options.max_token_bytes) return unauthenticated("the token is too long");
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return unauthenticated("the token is not a compact JWS (header.payload.signature)");
  }
  auto header = decode_part(token.substr(0, first), "header");
  if (!header) return header.error();
  auto alg = string_claim(*header, "alg");
  auto kid = string_claim(*header, "kid");
  auto typ = string_claim(*header, "typ");
  if (!alg || !kid || !typ) return unauthenticated("the token's header is malformed");
  if (!contains(options.algorithms, *alg)) {
    return unauthenticated("the token's algorithm " + quote_for_message(*alg) + " is not allowed");
  }
  // A critical extension Stoa does not implement must not be ignored (RFC 7515 §4.1.11).
  if (header->contains("crit")) return unauthenticated("the token has critical extensions");
  if (!typ->empty() && !http::iequals(*typ, "JWT") && !http::iequals(*typ, "at+jwt")) {
    return unauthenticated("the token's type " + quote_for_message(*typ) + " is not a JWT");
  }
  auto signature = base64::decode_url(token.substr(second + 1));
  if (!signature) return unauthenticated("the token's signature is not base64url");
  auto verified = keys.verify(*kid, *alg, token.substr(0, second), *signature);
  if (!verified) return verified.error();

  auto payload = decode_part(token.substr(first + 1, second - first - 1), "payload");
  if (!payload) return payload.error();
  auto claims = read_claims(std::move(*payload));
  if (!claims) return claims.error();
  const auto skew = std::chrono::duration_cast<Clock::duration>(options.max_clock_skew);
  if (now >= claims->expires_at + skew) return unauthenticated("the token has expired");
  if (claims->not_before && now + skew < *claims->not_before) {
    return unauthenticated("the token is not valid yet (nbf)");
  }
  if (claims->issued_at && now + skew < *claims->issued_at) {
    return unauthenticated("the token was issued in the future (iat)");
  }
  if (claims->issuer != options.issuer) {
    return unauthenticated("the token's issuer " + quote_for_message(claims->issuer) +
                           " is not the trusted one");
  }
  const bool audience_ok = std::any_of(
      claims->audience.begin(), claims->audience.end(),
      [&](const std::string& audience) { return contains(options.audiences, audience); });
  if (!audience_ok) return unauthenticated("the token is not meant for this audience (aud)");
  return claims;
}

// --- Verifier ---------------------------------------------------------------------------------

struct Verifier::Impl {
  VerifierOptions options;
  std::mutex mutex;
  std::shared_ptr<const KeySet> keys;                               // null until loaded
  std::optional<std::chrono::steady_clock::time_point> last_fetch;  // the last attempt
  std::string last_error;

  // Whether a fetch may start now; if so, it is recorded as started (one fetch per interval,
  // whichever thread asks first).
  bool claim_fetch() {
    std::lock_guard lock(mutex);
    const auto now = std::chrono::steady_clock::now();
    if (last_fetch && now - *last_fetch < options.refetch_interval) return false;
    last_fetch = now;
    return true;
  }

  std::shared_ptr<const KeySet> current() {
    std::lock_guard lock(mutex);
    return keys;
  }

  void store(Result<std::shared_ptr<const KeySet>> loaded) {
    std::lock_guard lock(mutex);
    if (loaded) {
      keys = std::move(loaded.value());
      last_error.clear();
    } else {
      last_error = loaded.error().message;  // the old keys stay in use
    }
  }

  Awaitable<Result<std::shared_ptr<const KeySet>>> fetch() {
    const std::string& source = options.jwks;
    if (source.starts_with("http://") || source.starts_with("https://")) {
      co_return co_await fetch_url(source, options.fetch_timeout);
    }
    co_return read_file(source);
  }

  static Result<std::shared_ptr<const KeySet>> read_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file)
      return Error{Errc::unavailable, "cannot read the JWKS file " + quote_for_message(path)};
    std::ostringstream text;
    text << file.rdbuf();
    return KeySet::parse(text.str());
  }

  static Awaitable<Result<std::shared_ptr<const KeySet>>> fetch_url(
      std::string url, std::chrono::milliseconds timeout) {
    auto executor = co_await asio::this_coro::executor;
    auto& context = static_cast<asio::io_context&>(asio::query(executor, asio::execution::context));
    http::ClientOptions client_options;
    client_options.request_timeout = timeout;
    client_options.connect_timeout = timeout;
    client_options.max_response_bytes = 256 * 1024;
    http::Client client(context, client_options);
    http::ClientRequest request;
    request.url = std::move(url);
    auto response = co_await client.send(std::move(request));
    if (!response) {
      co_return Error{Errc::unavailable, "cannot fetch the JWKS: " + response.error().message};
    }
    if (response->status != 200) {
      co_return Error{Errc::unavailable,
                      "the JWKS URL answered " + std::to_string(response->status)};
    }
    co_return KeySet::parse(response->body);
  }
};

Verifier::Verifier(VerifierOptions options) : impl_(std::make_shared<Impl>()) {
  impl_->options = std::move(options);
}

Verifier::~Verifier() = default;

const VerifierOptions& Verifier::options() const {
  return impl_->options;
}

Awaitable<Result<Claims>> Verifier::verify(std::string token) {
  auto impl = impl_;  // the coroutine may outlive a caller's reference
  auto keys = impl->current();
  if (!keys && impl->claim_fetch()) {
    impl->store(co_await impl->fetch());
    keys = impl->current();
  }
  if (!keys) {
    std::lock_guard lock(impl->mutex);
    co_return Error{Errc::unavailable, "no JWKS loaded yet: " + impl->last_error};
  }
  auto claims = verify_token(token, *keys, impl->options, Clock::now());
  // Key rotation: a token signed by a key we do not know yet makes us look again, rarely.
  if (!claims && claims.error().message.find("is not in the JWKS") != std::string::npos &&
      impl->claim_fetch()) {
    impl->store(co_await impl->fetch());
    keys = impl->current();
    claims = verify_token(token, *keys, impl->options, Clock::now());
  }
  co_return claims;
}

Awaitable<Result<Claims>> Verifier::authenticate(const http::Request& request) {
  auto header = request.headers.get("Authorization");
  if (!header) co_return unauthenticated("the request has no Authorization header");
  std::string_view value = *header;
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() || !http::iequals(value.substr(0, kScheme.size()), kScheme)) {
    co_return unauthenticated("the Authorization header is not a bearer token");
  }
  std::string token(value.substr(kScheme.size()));
  co_return co_await verify(std::move(token));
}

std::shared_ptr<Verifier> verifier(ComponentHost& host) {
  return host.shared<Verifier>("jwt", [&host]() {
    return std::make_shared<Verifier>(VerifierOptions::from_config(host.config()));
  });
}

}  // namespace stoa::jwt
