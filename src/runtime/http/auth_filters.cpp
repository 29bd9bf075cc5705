#include "runtime/http/auth_filters.h"

#include <utility>

#include "runtime/jwt.h"
#include "runtime/problem.h"
#include "runtime/uuid.h"

namespace stoa::http {
namespace {

// RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E, so quotes, backslashes and
// anything outside printable ASCII are replaced.
std::string challenge_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\'');
    } else if (c < 0x20 || c > 0x7E) {
      out.push_back(' ');
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

Caller caller_from(jwt::Claims claims) {
  Caller caller;
  caller.subject = std::move(claims.subject);
  caller.issuer = std::move(claims.issuer);
  caller.token_id = std::move(claims.token_id);
  caller.scopes = std::move(claims.scopes);
  caller.roles = std::move(claims.roles);
  caller.expires_at = claims.expires_at;
  // RFC 9068 names the client `client_id`; OpenID Connect's `azp` says the same.
  for (const char* name : {"client_id", "azp"}) {
    if (const auto* value = claims.payload.if_contains(name); value && value->is_string()) {
      caller.client_id = std::string(value->as_string());
      break;
    }
  }
  return caller;
}

Error not_authenticated() {
  return Error{Errc::unauthenticated, "this needs an authenticated caller"};
}

// --- authentication ----------------------------------------------------------------------

struct AuthenticationConfig {
  std::shared_ptr<jwt::Verifier> verifier;
  AuthenticationOptions options;
};

class Authentication final : public Filter {
 public:
  explicit Authentication(const AuthenticationConfig& config) : config_(config) {}

  Awaitable<Verdict> on_request(Request& request) override {
    auto header = request.headers.get("Authorization");
    auto token = header ? jwt::bearer_token(*header) : std::nullopt;
    if (!token) {
      if (config_.options.optional) co_return kContinue;
      co_return Error{Errc::unauthenticated, header
                                                 ? "the Authorization header is not a bearer token"
                                                 : "the request has no Authorization header"};
    }
    auto claims = co_await config_.verifier->verify(std::string(*token));
    if (!claims) {
      if (claims.error().code != Errc::unauthenticated) co_return claims.error();
      Response refusal = problem_for(claims.error(), request.path);
      refusal.headers.set("WWW-Authenticate",
                          "Bearer error=\"invalid_token\", error_description=\"" +
                              challenge_text(claims.error().message) + "\"");
      co_return refusal;
    }
    request.caller = caller_from(std::move(*claims));
    co_return kContinue;
  }

 private:
  const AuthenticationConfig& config_;  // the factory's, which outlives every request
};

class AuthenticationFactory final : public FilterFactory {
 public:
  explicit AuthenticationFactory(AuthenticationConfig config) : config_(std::move(config)) {}
  std::unique_ptr<Filter> create() const override {
    return std::make_unique<Authentication>(config_);
  }

 private:
  AuthenticationConfig config_;
};

// --- authorization -----------------------------------------------------------------------

// An authorization rule: a check of the caller that answers or passes. No per-request state.
class Authorization final : public Filter {
 public:
  using Check = Verdict (*)(const std::vector<std::string>& names, const Request& request);
  Authorization(Check check, const std::vector<std::string>& names)
      : check_(check), names_(names) {}

  Awaitable<Verdict> on_request(Request& request) override {
    if (!request.caller) co_return not_authenticated();
    co_return check_(names_, request);
  }

 private:
  Check check_;
  const std::vector<std::string>& names_;  // the factory's, which outlives every request
};

class AuthorizationFactory final : public FilterFactory {
 public:
  AuthorizationFactory(Authorization::Check check, std::vector<std::string> names)
      : check_(check), names_(std::move(names)) {}
  std::unique_ptr<Filter> create() const override {
    return std::make_unique<Authorization>(check_, names_);
  }

 private:
  Authorization::Check check_;
  std::vector<std::string> names_;
};

Verdict check_scopes(const std::vector<std::string>& scopes, const Request& request) {
  for (const auto& scope : scopes) {
    if (request.caller->has_scope(scope)) continue;
    Response refusal = problem_for(
        Error{Errc::permission_denied, "this endpoint needs the scope " + scope}, request.path);
    refusal.headers.set("WWW-Authenticate", "Bearer error=\"insufficient_scope\", scope=\"" +
                                                challenge_text(joined(scopes, " ")) + "\"");
    return refusal;
  }
  return kContinue;
}

Verdict check_roles(const std::vector<std::string>& roles, const Request& request) {
  for (const auto& role : roles) {
    if (request.caller->has_role(role)) return kContinue;
  }
  return Error{Errc::permission_denied, roles.size() == 1
                                            ? "this needs the " + roles.front() + " role"
                                            : "this needs one of the roles " + joined(roles, ", ")};
}

Verdict check_user_subject(const std::vector<std::string>&, const Request& request) {
  if (Uuid::parse(request.caller->subject)) return kContinue;
  return Error{Errc::permission_denied, "the token's subject is not a user"};
}

}  // namespace

std::shared_ptr<const FilterFactory> authenticate(std::shared_ptr<jwt::Verifier> verifier,
                                                  AuthenticationOptions options) {
  return std::make_shared<AuthenticationFactory>(
      AuthenticationConfig{std::move(verifier), options});
}

std::shared_ptr<const FilterFactory> require_scopes(std::vector<std::string> scopes) {
  return std::make_shared<AuthorizationFactory>(&check_scopes, std::move(scopes));
}

std::shared_ptr<const FilterFactory> require_any_role(std::vector<std::string> roles) {
  return std::make_shared<AuthorizationFactory>(&check_roles, std::move(roles));
}

std::shared_ptr<const FilterFactory> require_user_subject() {
  return std::make_shared<AuthorizationFactory>(&check_user_subject, std::vector<std::string>{});
}

}  // namespace stoa::http
