// The admin routes (the route's filters require the admin role): listing and reading users,
// disabling and enabling them, setting their roles.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "runtime/service/json_body.h"
#include "runtime/service/json_response.h"
#include "runtime/service/pagination.h"
#include "runtime/uuid.h"
#include "services/user/detail/handlers.h"
#include "services/user/email.h"
#include "services/user/user_json.h"

namespace stoa::user::detail {
namespace {

namespace js = boost::json;

constexpr std::size_t kMaxRoles = 16;
constexpr service::PageSize kPageSize{.default_size = 20, .max_size = 100};

bool valid_role(std::string_view role) {
  if (role.empty() || role.size() > 32) return false;
  if (role.front() < 'a' || role.front() > 'z') return false;
  return std::all_of(role.begin(), role.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

// The {user_id} of the path; not_found when it cannot be one.
Result<std::string> user_id_of(const Request& request) {
  std::string id(request.param("user_id").value_or(""));
  if (!Uuid::parse(id)) return Error{Errc::not_found, "no such user"};
  return id;
}

Awaitable<Result<Response>> set_status(const Api& api, Request& request, std::string status) {
  auto id = user_id_of(request);
  if (!id) co_return id.error();
  auto updated = co_await api.deps().store->set_status(*id, std::move(status),
                                                       request.caller->subject, &request.trace);
  if (!updated) co_return updated.error();
  co_await api.invalidate_profile(*id);
  co_return profile_response(200, *updated);
}

}  // namespace

// The cursor is the last listed user's id, as docs/api/user.openapi.json documents it.
Awaitable<Result<Response>> list_users(const Api& api, Request& request) {
  auto limit = service::page_size(request, kPageSize);
  if (!limit) co_return limit.error();
  std::string cursor = request.query_param("cursor").value_or("");
  if (!cursor.empty() && !Uuid::parse(cursor)) {
    co_return Error{Errc::invalid_argument, "cursor is not one this API returned"};
  }
  std::string query = request.query_param("q").value_or("");
  if (service::count_chars(query) > 100 || query.size() > 400) {
    co_return Error{Errc::invalid_argument, "q is longer than 100 characters"};
  }
  auto folded = fold_text(query);
  if (!folded) co_return Error{Errc::invalid_argument, "q " + folded.error().message};
  auto page = co_await api.deps().store->list(std::move(*folded), std::move(cursor), *limit);
  if (!page) co_return page.error();
  js::array users;
  for (const auto& p : page->users) users.push_back(profile_json(p));
  js::object body{{"users", std::move(users)}};
  if (!page->next_cursor.empty()) body["next_cursor"] = page->next_cursor;
  co_return service::json_response(200, body);
}

Awaitable<Result<Response>> get_user(const Api& api, Request& request) {
  auto id = user_id_of(request);
  if (!id) co_return id.error();
  auto found = co_await api.deps().store->profile(*id, sql::Target::replica);
  if (!found) co_return found.error();
  if (!*found) co_return Error{Errc::not_found, "no such user"};
  co_return profile_response(200, **found);
}

Awaitable<Result<Response>> disable_user(const Api& api, Request& request) {
  return set_status(api, request, "disabled");
}

Awaitable<Result<Response>> enable_user(const Api& api, Request& request) {
  return set_status(api, request, "active");
}

Awaitable<Result<Response>> set_roles(const Api& api, Request& request) {
  auto id = user_id_of(request);
  if (!id) co_return id.error();
  auto body = service::json_object(request, {"roles"});
  if (!body) co_return body.error();
  const auto* roles_value = body->if_contains("roles");
  if (roles_value == nullptr || !roles_value->is_array()) {
    co_return Error{Errc::invalid_argument, "roles must be an array of role names"};
  }
  // Bounded before the loop: its duplicate check is quadratic in the array's length.
  if (roles_value->as_array().size() > kMaxRoles) {
    co_return Error{Errc::invalid_argument, "at most 16 roles"};
  }
  std::vector<std::string> roles;
  for (const auto& role : roles_value->as_array()) {
    if (!role.is_string() || !valid_role(role.as_string())) {
      co_return Error{Errc::invalid_argument,
                      "each role must be a name of lowercase letters, digits, '_', '-' or '.', "
                      "starting with a letter, at most 32 characters"};
    }
    std::string name(role.as_string());
    if (std::find(roles.begin(), roles.end(), name) == roles.end()) roles.push_back(name);
  }
  std::sort(roles.begin(), roles.end());
  auto updated = co_await api.deps().store->set_roles(*id, std::move(roles),
                                                      request.caller->subject, &request.trace);
  if (!updated) co_return updated.error();
  co_await api.invalidate_profile(*id);
  co_return profile_response(200, *updated);
}

}  // namespace stoa::user::detail
