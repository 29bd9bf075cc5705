// The caller's account as a whole: asking for its deletion, and exports of its data.
#include <boost/json/object.hpp>

#include <string>

#include "runtime/service/json_response.h"
#include "runtime/uuid.h"
#include "services/user/detail/handlers.h"

namespace stoa::user::detail {

namespace js = boost::json;

// The one own-account route a disabled account may use (docs/services-user.md): erasure
// gives up access rather than uses it, and there is no other way to ask for it.
Awaitable<Result<Response>> request_deletion(const Api& api, Request& request) {
  const std::string& id = caller_id(request);
  auto profile = co_await api.deps().store->request_deletion(id, &request.trace);
  if (!profile) co_return profile.error();
  co_await api.invalidate_profile(id);
  co_return service::json_response(202, js::object{{"status", profile->status}});
}

Awaitable<Result<Response>> request_export(const Api& api, Request& request) {
  auto me = co_await api.caller_profile(request);
  if (!me) co_return me.error();
  auto created = co_await api.deps().store->create_export(me->id, &request.trace);
  if (!created) co_return created.error();
  Response response = service::json_response(202, api.export_json(*created));
  response.headers.set("Location", "/v1/users/me/exports/" + created->id);
  co_return response;
}

// Like every own-account route: 403 while the account is disabled or being deleted, so that
// a token that got an account disabled cannot carry its data away.
Awaitable<Result<Response>> get_export(const Api& api, Request& request) {
  auto me = co_await api.caller_profile(request);
  if (!me) co_return me.error();
  const std::string export_id(request.param("export_id").value_or(""));
  if (!Uuid::parse(export_id)) co_return Error{Errc::not_found, "no such export"};
  auto found = co_await api.deps().store->export_of(me->id, export_id);
  if (!found) co_return found.error();
  if (!*found) co_return Error{Errc::not_found, "no such export"};
  co_return service::json_response(200, api.export_json(**found));
}

}  // namespace stoa::user::detail
