#pragma once
// The user service's HTTP API (/v1/users on port 8101; docs/api/user.openapi.json): self
// service under /v1/users/me for the bearer token's subject, admin routes for the `admin`
// role, and the credential check the auth service calls (/internal/v1/credentials/check,
// never routed by the gateway, only for tokens with the credential scope).
#include <chrono>
#include <memory>
#include <string>

#include "runtime/router.h"
#include "services/user/lockout.h"
#include "services/user/password.h"
#include "services/user/user_store.h"

namespace stoa {
class WorkerPool;
namespace cache {
class LoadingCache;
}
namespace jwt {
class Verifier;
}
namespace objects {
class ObjectStore;
}
}  // namespace stoa

namespace stoa::user {

struct ApiOptions {
  std::chrono::milliseconds profile_cache_ttl{60'000};
  std::chrono::milliseconds export_url_ttl{15 * 60'000};
  std::string credential_scope = "stoa.user.credentials";
  std::string admin_role = "admin";
  PasswordParams password;
};

struct ApiDependencies {
  std::shared_ptr<UserStore> store;
  std::shared_ptr<cache::LoadingCache> profiles;
  std::shared_ptr<Lockout> lockout;
  std::shared_ptr<jwt::Verifier> verifier;
  std::shared_ptr<WorkerPool> workers;            // argon2id runs here, off the network threads
  std::shared_ptr<objects::ObjectStore> objects;  // exports are presigned from here
};

// Adds every route of the user API to `router`; `max_body_bytes` bounds each request body.
void add_user_routes(http::Router& router, ApiDependencies deps, ApiOptions options,
                     std::size_t max_body_bytes);

// The profile cache's key for user `id`.
std::string profile_cache_key(const std::string& id);

}  // namespace stoa::user
