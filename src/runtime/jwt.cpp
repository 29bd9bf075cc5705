// jwt::verify_token and the Verifier: parsing a compact JWS, checking its claims, and keeping
// the JWKS (from a file or a URL) current.
#include "runtime/jwt.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "runtime/base64.h"
#include "runtime/component.h"
#include "runtime/config.h"
#include "runtime/event_loop.h"
#include "runtime/http_client.h"
#include "runtime/http_types.h"
#include "runtime/json.h"

namespace stoa::jwt {

namespace {

namespace asio = boost::asio;
using SystemClock = std::chrono::system_clock;

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
std::optional<SystemClock::time_point> numeric_date(const boost::json::value& value) {
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
  return SystemClock::time_point(
      std::chrono::duration_cast<SystemClock::duration>(std::chrono::duration<double>(seconds)));
}

Result<std::optional<SystemClock::time_point>> date_claim(const boost::json::object& payload,
                                                          std::string_view name) {
  const auto* value = payload.if_contains(name);
  if (value == nullptr) return std::optional<SystemClock::time_point>();
  auto date = numeric_date(*value);
  if (!date) return unauthenticated("the token's \"" + std::string(name) + "\" is not a date");
  return std::optional<SystemClock::time_point>(*date);
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

namespace {

// A compact JWS that passed every check that needs no key: what is left is its signature.
struct Checked {
  std::string alg;
  std::string kid;
  std::string_view signed_part;  // header.payload, within the caller's token
  std::string signature;
  Claims claims;
};

// Everything but the signature, so that a token that can never be valid (malformed, an
// algorithm outside the allow-list, expired, another issuer or audience) is refused before
// any key is needed: it never makes the verifier fetch the JWKS. Nothing read here is
// trusted: it can only refuse.
Result<Checked> check_without_key(std::string_view token, const VerifierOptions& options,
                                  SystemClock::time_point now) {
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

  auto payload = decode_part(token.substr(first + 1, second - first - 1), "payload");
  if (!payload) return payload.error();
  auto claims = read_claims(std::move(*payload));
  if (!claims) return claims.error();
  const auto skew = std::chrono::duration_cast<SystemClock::duration>(options.max_clock_skew);
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
  return Checked{std::move(*alg), std::move(*kid), token.substr(0, second), std::move(*signature),
                 std::move(*claims)};
}

Status check_signature(const Checked& checked, const KeySet& keys) {
  return keys.verify(checked.kid, checked.alg, checked.signed_part, checked.signature);
}

}  // namespace

Result<Claims> verify_token(std::string_view token, const KeySet& keys,
                            const VerifierOptions& options, SystemClock::time_point now) {
  auto checked = check_without_key(token, options, now);
  if (!checked) return checked.error();
  auto signed_by_key = check_signature(*checked, keys);
  if (!signed_by_key) return signed_by_key.error();
  return std::move(checked->claims);
}

// --- Verifier ---------------------------------------------------------------------------------

namespace {

bool is_url(const std::string& source) {
  return source.starts_with("http://") || source.starts_with("https://");
}

}  // namespace

// One load of the JWKS at a time, whoever needs it: a request, the readiness check, preload().
// The load runs detached, so a caller that gives up (its wait bound, a closed connection)
// does not stop it for the others. Callers wait on a timer of their own executor that the
// load's end expires; event-loop contexts are single-threaded, so each timer is only touched
// on its own thread.
struct Verifier::Impl {
  static constexpr std::chrono::milliseconds kFirstLoadRetry{1'000};

  struct Waiter {
    asio::any_io_executor executor;
    std::shared_ptr<asio::steady_timer> timer;
  };

  VerifierOptions options;
  const Clock* clock = &Clock::real();  // never null
  std::mutex mutex;
  std::shared_ptr<const KeySet> keys;                               // null until loaded
  std::optional<std::chrono::steady_clock::time_point> last_fetch;  // the last attempt
  std::string last_error;
  bool loading = false;         // a load is in flight
  std::vector<Waiter> waiters;  // woken when it ends

  std::shared_ptr<const KeySet> current() {
    std::lock_guard lock(mutex);
    return keys;
  }

  // Whether a load may start now; if so, it is recorded as in flight (one fetch per interval,
  // whichever caller asks first). With `mutex` held.
  bool claim_load_locked() {
    if (loading) return false;
    const auto now = clock->steady_now();
    // Until a key set is loaded every token that could be valid fails, so a failed first load
    // is retried sooner: the auth service starting a moment after its callers (`stoa up`)
    // makes tokens work within a second, not a whole refetch interval later.
    const auto interval =
        keys ? options.refetch_interval
             : std::min<std::chrono::milliseconds>(options.refetch_interval, kFirstLoadRetry);
    if (last_fetch && now - *last_fetch < interval) return false;
    last_fetch = now;
    loading = true;
    return true;
  }

  // Why no key set is there for a caller that found none. With `mutex` held.
  Error not_loaded_locked() const {
    if (loading) {
      return Error{Errc::unavailable, "the JWKS is still loading after " +
                                          std::to_string(options.fetch_timeout.count()) + "ms"};
    }
    return Error{Errc::unavailable, "no JWKS loaded yet: " + last_error};
  }

  Error not_loaded() {
    std::lock_guard lock(mutex);
    return not_loaded_locked();
  }

  // Ends the load in flight with `loaded` and wakes its waiters.
  void finish(Result<std::shared_ptr<const KeySet>> loaded) {
    std::vector<Waiter> woken;
    {
      std::lock_guard lock(mutex);
      if (loaded) {
        keys = std::move(loaded.value());
        last_error.clear();
      } else {
        last_error = loaded.error().message;  // the old keys stay in use
      }
      loading = false;
      woken.swap(waiters);
    }
    // Expiring (rather than cancelling) also wakes a waiter whose wait has not started yet.
    for (auto& waiter : woken) {
      asio::post(waiter.executor, [timer = std::move(waiter.timer)] {
        timer->expires_after(std::chrono::steady_clock::duration::zero());
      });
    }
  }

  // The detached load that claim_load_locked() allowed.
  static Awaitable<void> load(std::shared_ptr<Impl> self) {
    Result<std::shared_ptr<const KeySet>> loaded =
        Error{Errc::internal, "the JWKS load failed unexpectedly"};
    try {
      loaded = co_await self->fetch();
    } catch (const std::exception& e) {
      loaded = Error{Errc::internal, std::string("the JWKS load failed: ") + e.what()};
    }
    self->finish(std::move(loaded));  // never leaves `loading` set
  }

  // Waits, up to fetch_timeout, for the load in flight or for one it starts when the refetch
  // interval allows; returns the keys then current (null when none is loaded). Returns at
  // once when no load runs or may start.
  static Awaitable<std::shared_ptr<const KeySet>> load_and_wait(std::shared_ptr<Impl> self) {
    auto executor = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(executor, self->options.fetch_timeout);
    bool start = false;
    bool waiting = false;
    {
      std::lock_guard lock(self->mutex);
      start = self->claim_load_locked();
      if (self->loading) {
        self->waiters.push_back(Waiter{executor, timer});
        waiting = true;
      }
    }
    // Spawned after registering, unlocked: a file load may finish before co_spawn returns.
    if (start) asio::co_spawn(executor, load(self), asio::detached);
    if (waiting) co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    co_return self->current();
  }

  Awaitable<Result<std::shared_ptr<const KeySet>>> fetch() {
    const std::string& source = options.jwks;
    if (is_url(source)) co_return co_await fetch_url(source, options.fetch_timeout);
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

Verifier::Verifier(VerifierOptions options, const Clock& clock) : impl_(std::make_shared<Impl>()) {
  impl_->options = std::move(options);
  impl_->clock = &clock;
}

Verifier::~Verifier() = default;

const VerifierOptions& Verifier::options() const {
  return impl_->options;
}

Status Verifier::preload(EventLoop& loop) {
  bool start = false;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->keys) return Ok{};
    start = impl_->claim_load_locked();
  }
  if (!start) return Ok{};  // a load is in flight, or one failed within the interval
  if (!is_url(impl_->options.jwks)) {
    auto loaded = Impl::read_file(impl_->options.jwks);
    std::optional<Error> failed;
    if (!loaded) failed = loaded.error();
    impl_->finish(std::move(loaded));
    if (failed) return *failed;
    return Ok{};
  }
  asio::co_spawn(loop.context(0), Impl::load(impl_), asio::detached);
  return Ok{};
}

Awaitable<Status> Verifier::ready() {
  auto impl = impl_;  // the coroutine may outlive a caller's reference
  if (impl->current()) co_return Ok{};
  if (co_await Impl::load_and_wait(impl)) co_return Ok{};
  co_return impl->not_loaded();
}

Awaitable<Result<Claims>> Verifier::verify(std::string token) {
  auto impl = impl_;  // the coroutine may outlive a caller's reference
  auto checked = check_without_key(token, impl->options, impl->clock->system_now());
  if (!checked) co_return checked.error();
  auto keys = impl->current();
  if (!keys) keys = co_await Impl::load_and_wait(impl);
  if (!keys) co_return impl->not_loaded();
  auto signed_by_key = check_signature(*checked, *keys);
  // Key rotation: a token signed by a key we do not know yet makes us look again, rarely.
  if (!signed_by_key && !checked->kid.empty() && !keys->contains(checked->kid)) {
    auto reloaded = co_await Impl::load_and_wait(impl);
    if (reloaded && reloaded != keys) signed_by_key = check_signature(*checked, *reloaded);
  }
  if (!signed_by_key) co_return signed_by_key.error();
  co_return std::move(checked->claims);
}

Awaitable<Result<Claims>> Verifier::authenticate(const http::Request& request) {
  auto header = request.headers.get("Authorization");
  if (!header) co_return unauthenticated("the request has no Authorization header");
  auto token = bearer_token(*header);
  if (!token) co_return unauthenticated("the Authorization header is not a bearer token");
  co_return co_await verify(std::string(*token));
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !http::iequals(authorization.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  return authorization.substr(kScheme.size());
}

std::shared_ptr<Verifier> verifier(ComponentHost& host) {
  return host.shared<Verifier>("jwt", [&host]() {
    auto made =
        std::make_shared<Verifier>(VerifierOptions::from_config(host.config()), host.clock());
    // Before the caller's listener opens: the first requests after a restart find a file's
    // keys loaded, or join the URL's fetch already in flight.
    auto preloaded = made->preload(host.loop());
    if (!preloaded) throw std::runtime_error("jwt.jwks: " + preloaded.error().message);
    std::weak_ptr<Verifier> weak = made;
    host.add_readiness_check("jwks", [weak]() -> Awaitable<Status> {
      auto alive = weak.lock();
      if (!alive) co_return Error{Errc::unavailable, "the JWT verifier is closed"};
      co_return co_await alive->ready();
    });
    return made;
  });
}

}  // namespace stoa::jwt
