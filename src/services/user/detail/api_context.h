#pragma once
// What every handler of the user API shares (user_api.cpp registers them; one file per
// resource defines them): the service's dependencies and options, the password work that runs
// off the network threads, and the caller's profile read through the cache. Handlers run behind
// the route's filters, so Request::caller is set: authenticated, and for /me routes a user id.
#include <boost/json/object.hpp>

#include <string>

#include "runtime/async.h"
#include "runtime/error.h"
#include "runtime/http_types.h"
#include "runtime/service/json_body.h"
#include "services/user/password.h"
#include "services/user/user_api.h"
#include "services/user/user_store.h"

namespace stoa::user::detail {

using http::Request;
using http::Response;

constexpr std::size_t kMaxDisplayNameChars = 100;
constexpr std::size_t kMinPasswordChars = 8;

inline const service::TextRule kDisplayNameRule{
    .min_chars = 1, .max_chars = kMaxDisplayNameChars, .no_bidi_controls = true};
inline const service::TextRule kPasswordRule{.min_chars = kMinPasswordChars,
                                             .max_bytes = kMaxPasswordBytes};
// A password being checked rather than set: any non-empty one (older rules may have allowed it).
inline const service::TextRule kPresentedPasswordRule{.min_chars = 1,
                                                      .max_bytes = kMaxPasswordBytes};
inline const service::TextRule kEmailRule{.min_chars = 1, .max_bytes = kMaxEmailBytes};

class Api {
 public:
  Api(ApiDependencies deps, ApiOptions options, std::string dummy_hash);

  const ApiDependencies& deps() const { return deps_; }
  const ApiOptions& options() const { return options_; }
  // A hash of a password nobody has: an unknown account costs a check too (credentials.cpp).
  const std::string& dummy_hash() const { return dummy_hash_; }

  // argon2id on the worker pool; unavailable when too many are in progress.
  Awaitable<Result<std::string>> hash(std::string password) const;
  Awaitable<Result<PasswordCheck>> check(std::string password, std::string stored) const;

  // The caller's profile, read through the cache: from the primary on a miss, so that an
  // owner reads their own writes (the cache entry is invalidated on every change). not_found
  // once the account is deleted, permission_denied while it is not active.
  Awaitable<Result<Profile>> caller_profile(const Request& request) const;
  // The profile cache entry of user `id` is stale.
  Awaitable<void> invalidate_profile(std::string id) const;

  boost::json::object export_json(const Export& e) const;

 private:
  ApiDependencies deps_;
  ApiOptions options_;
  std::string dummy_hash_;
};

// The id of the caller, which the route's filters made sure is a user id.
const std::string& caller_id(const Request& request);

// A profile with its ETag (profile.cpp).
Response profile_response(int status, const Profile& profile);

}  // namespace stoa::user::detail
