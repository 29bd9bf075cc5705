// Changing the caller's own password: POST /v1/users/me/password.
#include <utility>

#include "runtime/service/json_body.h"
#include "runtime/service/retry_after.h"
#include "services/user/detail/handlers.h"
#include "services/user/lockout.h"

namespace stoa::user::detail {

Awaitable<Result<Response>> change_password(const Api& api, Request& request) {
  const std::string& id = caller_id(request);
  auto body = service::json_object(request, {"current_password", "new_password"});
  if (!body) co_return body.error();
  auto current = service::text_field(*body, "current_password", kPresentedPasswordRule);
  if (!current) co_return current.error();
  auto next = service::text_field(*body, "new_password", kPasswordRule);
  if (!next) co_return next.error();
  auto credentials = co_await api.deps().store->credentials_by_id(id);
  if (!credentials) co_return credentials.error();
  // As for every route of the caller's own account: 404 once it is gone, 403 while it is
  // disabled or being deleted.
  if (!*credentials || (*credentials)->status == "deleted") {
    co_return Error{Errc::not_found, "no such user"};
  }
  if ((*credentials)->status != "active") {
    co_return Error{Errc::permission_denied, "the account is " + (*credentials)->status};
  }
  // Counted before the check, so that concurrent guesses cannot all pass a "not locked yet".
  auto refused = co_await api.deps().lockout->attempt(id, request.remote_address);
  if (refused) {
    co_return service::too_many_requests("too many failed attempts: try again later", *refused);
  }
  auto checked = co_await api.check((**current), (*credentials)->password_hash);
  if (!checked) co_return checked.error();
  if (!checked->matches) {
    co_return Error{Errc::permission_denied, "the current password is wrong"};
  }
  co_await api.deps().lockout->succeeded(id, request.remote_address);
  auto hashed = co_await api.hash(**next);
  if (!hashed) co_return hashed.error();
  auto stored = co_await api.deps().store->set_password_hash(id, std::move(*hashed));
  if (!stored) co_return stored.error();
  Response response;
  response.status = 204;
  co_return response;
}

}  // namespace stoa::user::detail
