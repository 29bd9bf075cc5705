#pragma once
// The caller's verified identity, carried by the request (Request::caller) once an
// authentication filter (runtime/http/auth_filters.h) has checked its credentials. A plain
// value: handlers and authorization filters read it without knowing how it was verified (a
// bearer JWT today), so http_types.h does not depend on the JWT code.
#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::http {

struct Caller {
  std::string subject;    // who: a user id, or a service's client id (JWT sub)
  std::string issuer;     // who vouches for it (iss)
  std::string client_id;  // the OAuth client the token was issued to (client_id, else azp)
  std::string token_id;   // jti, "" when the token has none
  std::vector<std::string> scopes;
  std::vector<std::string> roles;
  std::chrono::system_clock::time_point expires_at{};

  bool has_scope(std::string_view scope) const {
    return std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
  }
  bool has_role(std::string_view role) const {
    return std::find(roles.begin(), roles.end(), role) != roles.end();
  }
};

}  // namespace stoa::http
