#pragma once
// Authentication and authorization as filters (runtime/http/filter.h), the same for every
// service and for the gateway that composes them. Authentication verifies the bearer JWT
// (runtime/jwt.h) and puts the caller's identity on the request (Request::caller); the
// authorization filters after it read only that.
//
// Answers (RFC 6750, RFC 9457 problem documents):
// - no bearer token: 401, `WWW-Authenticate: Bearer` (no error code: the client may not have
//   known the resource needs one);
// - a token that does not verify: 401, `WWW-Authenticate: Bearer error="invalid_token",
//   error_description="<why>"`;
// - no key set could be loaded to verify with: 503 with Retry-After;
// - authenticated but not allowed (scope, role, subject): 403; a missing scope also says
//   `WWW-Authenticate: Bearer error="insufficient_scope", scope="<scopes>"`;
// - an authorization filter on a request nobody authenticated (optional authentication
//   without a token): 401.
#include <memory>
#include <string>
#include <vector>

#include "runtime/http/filter.h"

namespace stoa::jwt {
class Verifier;
}

namespace stoa::http {

struct AuthenticationOptions {
  // Without a token the request passes on unauthenticated (Request::caller empty): public
  // routes that personalise when they know the caller. A token that is present must verify.
  bool optional = false;
};

std::shared_ptr<const FilterFactory> authenticate(std::shared_ptr<jwt::Verifier> verifier,
                                                  AuthenticationOptions options = {});

// The caller's token must hold every one of `scopes`.
std::shared_ptr<const FilterFactory> require_scopes(std::vector<std::string> scopes);
// The caller must have at least one of `roles`.
std::shared_ptr<const FilterFactory> require_any_role(std::vector<std::string> roles);
// The caller's subject must be a user id (a UUID), not a service's client: routes about "me".
std::shared_ptr<const FilterFactory> require_user_subject();

}  // namespace stoa::http
