// The user API's routes, and the filters each one runs behind. The handlers, one file per
// resource, are in detail/; they read the verified caller from Request::caller and return
// Result<Response> (an Error is answered as its problem document by the pipeline).
#include "services/user/user_api.h"

#include <memory>
#include <stdexcept>
#include <utility>

#include "runtime/http/auth_filters.h"
#include "services/user/detail/handlers.h"

namespace stoa::user {

std::string profile_cache_key(const std::string& id) {
  return "user:profile:" + id;
}

void add_user_routes(http::Router& router, ApiDependencies deps, ApiOptions options,
                     std::size_t max_body_bytes) {
  using namespace detail;
  auto dummy = hash_password("stoa-dummy-password-for-unknown-accounts", options.password);
  if (!dummy) throw std::runtime_error("user: cannot hash with argon2id: " + dummy.error().message);

  const auto authenticated = http::authenticate(deps.verifier);
  // /v1/users/me…: the token's subject must be a user id.
  const http::FilterChain user{authenticated, http::require_user_subject()};
  const http::FilterChain admin{authenticated, http::require_any_role({options.admin_role})};
  const http::FilterChain credential_check{authenticated,
                                           http::require_scopes({options.credential_scope})};

  auto api = std::make_shared<const Api>(std::move(deps), std::move(options), std::move(*dummy));
  auto add = [&](const char* method, const char* path, Handler handler,
                 http::FilterChain filters = {}) {
    router.add(
        method, path, [api, handler](http::Request& request) { return handler(*api, request); },
        http::RouteOptions{.max_body_bytes = max_body_bytes, .filters = std::move(filters)});
  };
  add("POST", "/v1/users", register_user);
  add("GET", "/v1/users/me", get_me, user);
  add("PATCH", "/v1/users/me", patch_me, user);
  add("POST", "/v1/users/me/password", change_password, user);
  add("GET", "/v1/users/me/addresses", list_addresses, user);
  add("POST", "/v1/users/me/addresses", add_address, user);
  add("PUT", "/v1/users/me/addresses/{address_id}", replace_address, user);
  add("DELETE", "/v1/users/me/addresses/{address_id}", delete_address, user);
  add("POST", "/v1/users/me/deletion", request_deletion, user);
  add("POST", "/v1/users/me/exports", request_export, user);
  add("GET", "/v1/users/me/exports/{export_id}", get_export, user);
  add("GET", "/v1/users", list_users, admin);
  add("GET", "/v1/users/{user_id}", get_user, admin);
  add("POST", "/v1/users/{user_id}/disable", disable_user, admin);
  add("POST", "/v1/users/{user_id}/enable", enable_user, admin);
  add("PUT", "/v1/users/{user_id}/roles", set_roles, admin);
  add("POST", "/internal/v1/credentials/check", check_credentials, credential_check);
}

}  // namespace stoa::user
