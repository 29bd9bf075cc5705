#pragma once
// The user API's handlers, one file per resource; user_api.cpp registers them with the filters
// that run first (authentication, the admin role, the credential scope).
#include "runtime/async.h"
#include "runtime/error.h"
#include "runtime/http_types.h"
#include "services/user/detail/api_context.h"

namespace stoa::user::detail {

using Handler = Awaitable<Result<Response>> (*)(const Api& api, Request& request);

// profile.cpp: registration and the caller's own profile.
Awaitable<Result<Response>> register_user(const Api& api, Request& request);
Awaitable<Result<Response>> get_me(const Api& api, Request& request);
Awaitable<Result<Response>> patch_me(const Api& api, Request& request);

// password.cpp
Awaitable<Result<Response>> change_password(const Api& api, Request& request);

// addresses.cpp
Awaitable<Result<Response>> list_addresses(const Api& api, Request& request);
Awaitable<Result<Response>> add_address(const Api& api, Request& request);
Awaitable<Result<Response>> replace_address(const Api& api, Request& request);
Awaitable<Result<Response>> delete_address(const Api& api, Request& request);

// account_data.cpp: deletion and export of the caller's account.
Awaitable<Result<Response>> request_deletion(const Api& api, Request& request);
Awaitable<Result<Response>> request_export(const Api& api, Request& request);
Awaitable<Result<Response>> get_export(const Api& api, Request& request);

// admin.cpp
Awaitable<Result<Response>> list_users(const Api& api, Request& request);
Awaitable<Result<Response>> get_user(const Api& api, Request& request);
Awaitable<Result<Response>> disable_user(const Api& api, Request& request);
Awaitable<Result<Response>> enable_user(const Api& api, Request& request);
Awaitable<Result<Response>> set_roles(const Api& api, Request& request);

// credentials.cpp: the auth service's credential check.
Awaitable<Result<Response>> check_credentials(const Api& api, Request& request);

}  // namespace stoa::user::detail
