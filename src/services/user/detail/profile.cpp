// Registration and the caller's own profile: POST /v1/users, GET and PATCH /v1/users/me.
#include <optional>
#include <string>
#include <utility>

#include "runtime/http/etag.h"
#include "runtime/problem.h"
#include "runtime/service/json_body.h"
#include "runtime/service/json_response.h"
#include "services/user/detail/handlers.h"
#include "services/user/email.h"
#include "services/user/user_json.h"

namespace stoa::user::detail {
namespace {

std::string etag_of(const Profile& p) {
  return http::version_etag(p.version);
}

// If-None-Match on a read (RFC 9110 §13.1.2): weak comparison against any tag of the list.
bool none_match_fails(const Request& request, const Profile& p) {
  auto field = request.headers.get("If-None-Match");
  if (!field) return false;
  auto list = http::parse_entity_tag_list(*field);
  return list && http::matches_weak(*list, http::EntityTag{std::to_string(p.version), false});
}

// 428 and 412 have no Errc: the If-Match answers are HTTP's own (the shared ETag helpers will
// own them).
Response precondition_problem(int status, std::string detail, const Request& request) {
  return http::problem_response(status, std::move(detail), request.path);
}

}  // namespace

Response profile_response(int status, const Profile& p) {
  Response response = service::json_response(status, profile_json(p));
  response.headers.set("ETag", etag_of(p));
  response.headers.set("Cache-Control", "private, no-cache");
  return response;
}

Awaitable<Result<Response>> register_user(const Api& api, Request& request) {
  auto body = service::json_object(request, {"email", "password", "display_name"});
  if (!body) co_return body.error();
  auto email_text = service::text_field(*body, "email", kEmailRule);
  if (!email_text) co_return email_text.error();
  auto email = normalize_email(**email_text);
  if (!email) co_return email.error();
  auto password = service::text_field(*body, "password", kPasswordRule);
  if (!password) co_return password.error();
  auto display_name = service::text_field(*body, "display_name", kDisplayNameRule);
  if (!display_name) co_return display_name.error();

  auto hashed = co_await api.hash(**password);
  if (!hashed) co_return hashed.error();
  auto created = co_await api.deps().store->create(std::move(*email), std::move(*hashed),
                                                   std::move(**display_name), &request.trace);
  if (!created) co_return created.error();
  Response response = profile_response(201, *created);
  response.headers.set("Location", "/v1/users/" + created->id);
  co_return response;
}

Awaitable<Result<Response>> get_me(const Api& api, Request& request) {
  auto me = co_await api.caller_profile(request);
  if (!me) co_return me.error();
  if (none_match_fails(request, *me)) {
    Response not_modified;
    not_modified.status = 304;
    not_modified.headers.set("ETag", etag_of(*me));
    co_return not_modified;
  }
  co_return profile_response(200, *me);
}

Awaitable<Result<Response>> patch_me(const Api& api, Request& request) {
  const std::string& id = caller_id(request);
  const auto if_match = request.headers.get("If-Match");
  if (!if_match) {
    co_return precondition_problem(
        428, "send If-Match with the ETag of the profile you are changing", request);
  }
  const auto expected = http::parse_version_etag(*if_match);
  if (!expected) {
    co_return precondition_problem(412, "If-Match is not an ETag of this profile", request);
  }
  auto body = service::json_object(request, {"display_name"});
  if (!body) co_return body.error();
  if (body->empty())
    co_return Error{Errc::invalid_argument, "nothing to change: send display_name"};
  auto display_name = service::text_field(*body, "display_name", kDisplayNameRule);
  if (!display_name) co_return display_name.error();
  auto updated = co_await api.deps().store->update_display_name(id, std::move(**display_name),
                                                                *expected, &request.trace);
  if (!updated) {
    if (updated.error().code == Errc::aborted) {
      co_return precondition_problem(412, updated.error().message, request);
    }
    co_return updated.error();
  }
  co_await api.invalidate_profile(id);
  co_return profile_response(200, *updated);
}

}  // namespace stoa::user::detail
