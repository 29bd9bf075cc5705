#include "services/user/user_api.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>

#include "data/cache/loading_cache.h"
#include "data/objects/object_store.h"
#include "runtime/json.h"
#include "runtime/jwt.h"
#include "runtime/problem.h"
#include "runtime/uuid.h"
#include "runtime/worker_pool.h"
#include "services/user/request_body.h"
#include "services/user/user_json.h"

namespace stoa::user {
namespace {

using http::Request;
using http::Response;
namespace js = boost::json;

constexpr std::size_t kMaxDisplayNameChars = 100;
constexpr std::size_t kMinPasswordChars = 8;
constexpr std::size_t kMaxRoles = 16;
constexpr std::size_t kMaxPageSize = 100;
constexpr std::size_t kDefaultPageSize = 20;

const TextRule kDisplayNameRule{
    .min_chars = 1, .max_chars = kMaxDisplayNameChars, .no_bidi_controls = true};
const TextRule kPasswordRule{.min_chars = kMinPasswordChars, .max_bytes = kMaxPasswordBytes};
const TextRule kEmailRule{.min_chars = 1, .max_bytes = kMaxEmailBytes};

// The cached form: the profile and its version.
std::string profile_cache_value(const Profile& p) {
  js::object o = profile_json(p);
  o["version"] = p.version;
  return json::serialize(o);
}

std::optional<Profile> profile_from_cache(const std::string& text) {
  auto parsed = json::parse(text);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  const js::object& o = parsed->as_object();
  try {
    Profile p;
    p.id = std::string(o.at("id").as_string());
    p.email = std::string(o.at("email").as_string());
    p.display_name = std::string(o.at("display_name").as_string());
    for (const auto& role : o.at("roles").as_array()) p.roles.emplace_back(role.as_string());
    p.status = std::string(o.at("status").as_string());
    p.created_at = std::string(o.at("created_at").as_string());
    p.updated_at = std::string(o.at("updated_at").as_string());
    p.version = o.at("version").as_int64();
    return p;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string etag_of(const Profile& p) {
  return "\"" + std::to_string(p.version) + "\"";
}

// `"7"` or `W/"7"` -> 7.
std::optional<std::int64_t> parse_etag(std::string_view tag) {
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  if (tag.size() < 3 || tag.front() != '"' || tag.back() != '"') return std::nullopt;
  tag = tag.substr(1, tag.size() - 2);
  std::int64_t version = 0;
  auto [end, ec] = std::from_chars(tag.data(), tag.data() + tag.size(), version);
  if (ec != std::errc() || end != tag.data() + tag.size() || version < 1) return std::nullopt;
  return version;
}

Response json_response(int status, const js::value& body) {
  return Response::json(status, json::serialize(body));
}

Response profile_response(int status, const Profile& p) {
  Response response = json_response(status, profile_json(p));
  response.headers.set("ETag", etag_of(p));
  response.headers.set("Cache-Control", "private, no-cache");
  return response;
}

Response problem(const Error& error, const Request& request) {
  return http::problem_for(error, request.path);
}

Response problem(int status, std::string detail, const Request& request) {
  return http::problem_response(status, std::move(detail), request.path);
}

Response too_many_attempts(std::chrono::milliseconds wait, const Request& request) {
  Response response = problem(429, "too many failed attempts: try again later", request);
  const auto seconds = std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(wait + std::chrono::milliseconds(999))
             .count());
  response.headers.set("Retry-After", std::to_string(seconds));
  return response;
}

// RFC 9110 requires a challenge on every 401, this one too (the token was fine, the end
// user's credentials were not; `detail` says which).
Response wrong_credentials(const Request& request) {
  Response response = problem(401, "invalid email or password", request);
  response.headers.set("WWW-Authenticate", "Bearer");
  return response;
}

bool valid_role(std::string_view role) {
  if (role.empty() || role.size() > 32) return false;
  if (role.front() < 'a' || role.front() > 'z') return false;
  return std::all_of(role.begin(), role.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

bool valid_country(std::string_view code) {
  return code.size() == 2 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

Result<Address> address_from_body(const Request& request) {
  auto body =
      json_object(request, {"label", "line1", "line2", "city", "region", "postal_code", "country"});
  if (!body) return body.error();
  Address a;
  struct Field {
    const char* name;
    std::string* out;
    TextRule rule;
  };
  const Field fields[] = {
      {"label", &a.label, {.required = false, .max_chars = 50}},
      {"line1", &a.line1, {.min_chars = 1, .max_chars = 200}},
      {"line2", &a.line2, {.required = false, .max_chars = 200}},
      {"city", &a.city, {.min_chars = 1, .max_chars = 100}},
      {"region", &a.region, {.required = false, .max_chars = 100}},
      {"postal_code", &a.postal_code, {.required = false, .max_chars = 20}},
      {"country", &a.country, {.min_chars = 2, .max_chars = 2}},
  };
  for (const Field& f : fields) {
    auto value = text_field(*body, f.name, f.rule);
    if (!value) return value.error();
    if (*value) *f.out = std::move(**value);
  }
  if (!valid_country(a.country)) {
    return Error{Errc::invalid_argument,
                 "country must be an ISO 3166-1 alpha-2 code in capitals, like \"DE\""};
  }
  return a;
}

class UserApi : public std::enable_shared_from_this<UserApi> {
 public:
  UserApi(ApiDependencies deps, ApiOptions options, std::string dummy_hash)
      : deps_(std::move(deps)), options_(std::move(options)), dummy_hash_(std::move(dummy_hash)) {}

  // --- registration ------------------------------------------------------------------------
  Awaitable<Response> register_user(Request& request) {
    auto body = json_object(request, {"email", "password", "display_name"});
    if (!body) co_return problem(body.error(), request);
    auto email_text = text_field(*body, "email", kEmailRule);
    if (!email_text) co_return problem(email_text.error(), request);
    auto email = normalize_email(**email_text);
    if (!email) co_return problem(email.error(), request);
    auto password = text_field(*body, "password", kPasswordRule);
    if (!password) co_return problem(password.error(), request);
    auto display_name = text_field(*body, "display_name", kDisplayNameRule);
    if (!display_name) co_return problem(display_name.error(), request);

    auto hashed = co_await hash(**password);
    if (!hashed) co_return problem(hashed.error(), request);
    auto created = co_await deps_.store->create(std::move(*email), std::move(*hashed),
                                                std::move(**display_name), &request.trace);
    if (!created) co_return problem(created.error(), request);
    Response response = profile_response(201, *created);
    response.headers.set("Location", "/v1/users/" + created->id);
    co_return response;
  }

  // --- the caller's own profile ------------------------------------------------------------
  Awaitable<Response> get_me(Request& request) {
    auto me = co_await caller_profile(request);
    if (!me) co_return problem(me.error(), request);
    if (auto match = request.headers.get("If-None-Match"); match && *match == etag_of(*me)) {
      Response not_modified;
      not_modified.status = 304;
      not_modified.headers.set("ETag", etag_of(*me));
      co_return not_modified;
    }
    co_return profile_response(200, *me);
  }

  Awaitable<Response> patch_me(Request& request) {
    auto id = co_await caller_id(request);
    if (!id) co_return problem(id.error(), request);
    const auto if_match = request.headers.get("If-Match");
    if (!if_match) {
      co_return problem(428, "send If-Match with the ETag of the profile you are changing",
                        request);
    }
    const auto expected = parse_etag(*if_match);
    if (!expected) co_return problem(412, "If-Match is not an ETag of this profile", request);
    auto body = json_object(request, {"display_name"});
    if (!body) co_return problem(body.error(), request);
    if (body->empty()) co_return problem(400, "nothing to change: send display_name", request);
    auto display_name = text_field(*body, "display_name", kDisplayNameRule);
    if (!display_name) co_return problem(display_name.error(), request);
    auto updated = co_await deps_.store->update_display_name(*id, std::move(**display_name),
                                                             *expected, &request.trace);
    if (!updated) {
      if (updated.error().code == Errc::aborted) {
        co_return problem(412, updated.error().message, request);
      }
      co_return problem(updated.error(), request);
    }
    co_await deps_.profiles->invalidate(profile_cache_key(*id));
    co_return profile_response(200, *updated);
  }

  Awaitable<Response> change_password(Request& request) {
    auto id = co_await caller_id(request);
    if (!id) co_return problem(id.error(), request);
    auto body = json_object(request, {"current_password", "new_password"});
    if (!body) co_return problem(body.error(), request);
    auto current = text_field(*body, "current_password",
                              TextRule{.min_chars = 1, .max_bytes = kMaxPasswordBytes});
    if (!current) co_return problem(current.error(), request);
    auto next = text_field(*body, "new_password", kPasswordRule);
    if (!next) co_return problem(next.error(), request);
    auto credentials = co_await deps_.store->credentials_by_id(*id);
    if (!credentials) co_return problem(credentials.error(), request);
    // As for every route of the caller's own account: 404 once it is gone, 403 while it is
    // disabled or being deleted.
    if (!*credentials || (*credentials)->status == "deleted") {
      co_return problem(404, "no such user", request);
    }
    if ((*credentials)->status != "active") {
      co_return problem(403, "the account is " + (*credentials)->status, request);
    }
    // Counted before the check, so that concurrent guesses cannot all pass a "not locked yet".
    auto refused = co_await deps_.lockout->attempt(*id, request.remote_address);
    if (refused) co_return too_many_attempts(*refused, request);
    auto checked = co_await check((**current), (*credentials)->password_hash);
    if (!checked) co_return problem(checked.error(), request);
    if (!checked->matches) co_return problem(403, "the current password is wrong", request);
    co_await deps_.lockout->succeeded(*id, request.remote_address);
    auto hashed = co_await hash(**next);
    if (!hashed) co_return problem(hashed.error(), request);
    auto stored = co_await deps_.store->set_password_hash(*id, std::move(*hashed));
    if (!stored) co_return problem(stored.error(), request);
    Response response;
    response.status = 204;
    co_return response;
  }

  // --- addresses ---------------------------------------------------------------------------
  Awaitable<Response> list_addresses(Request& request) {
    auto me = co_await caller_profile(request);
    if (!me) co_return problem(me.error(), request);
    auto addresses = co_await deps_.store->addresses(me->id);
    if (!addresses) co_return problem(addresses.error(), request);
    js::array items;
    for (const auto& a : *addresses) items.push_back(address_json(a));
    co_return json_response(200, js::object{{"addresses", std::move(items)}});
  }

  Awaitable<Response> add_address(Request& request) {
    auto me = co_await caller_profile(request);
    if (!me) co_return problem(me.error(), request);
    auto address = address_from_body(request);
    if (!address) co_return problem(address.error(), request);
    auto added = co_await deps_.store->add_address(me->id, std::move(*address));
    if (!added) co_return problem(added.error(), request);
    Response response = json_response(201, address_json(*added));
    response.headers.set("Location", "/v1/users/me/addresses/" + added->id);
    co_return response;
  }

  Awaitable<Response> replace_address(Request& request) {
    auto me = co_await caller_profile(request);
    if (!me) co_return problem(me.error(), request);
    const std::string address_id(request.param("address_id").value_or(""));
    if (!Uuid::parse(address_id)) co_return problem(404, "no such address", request);
    auto address = address_from_body(request);
    if (!address) co_return problem(address.error(), request);
    address->id = address_id;
    auto replaced = co_await deps_.store->replace_address(me->id, std::move(*address));
    if (!replaced) co_return problem(replaced.error(), request);
    co_return json_response(200, address_json(*replaced));
  }

  Awaitable<Response> delete_address(Request& request) {
    auto me = co_await caller_profile(request);
    if (!me) co_return problem(me.error(), request);
    const std::string address_id(request.param("address_id").value_or(""));
    if (!Uuid::parse(address_id)) co_return problem(404, "no such address", request);
    auto deleted = co_await deps_.store->delete_address(me->id, address_id);
    if (!deleted) co_return problem(deleted.error(), request);
    Response response;
    response.status = 204;
    co_return response;
  }

  // --- deletion and export -----------------------------------------------------------------
  // The one own-account route a disabled account may use (docs/services-user.md): erasure
  // gives up access rather than uses it, and there is no other way to ask for it.
  Awaitable<Response> request_deletion(Request& request) {
    auto id = co_await caller_id(request);
    if (!id) co_return problem(id.error(), request);
    auto profile = co_await deps_.store->request_deletion(*id, &request.trace);
    if (!profile) co_return problem(profile.error(), request);
    co_await deps_.profiles->invalidate(profile_cache_key(*id));
    co_return json_response(202, js::object{{"status", profile->status}});
  }

  Awaitable<Response> request_export(Request& request) {
    auto me = co_await caller_profile(request);
    if (!me) co_return problem(me.error(), request);
    auto created = co_await deps_.store->create_export(me->id, &request.trace);
    if (!created) co_return problem(created.error(), request);
    Response response = json_response(202, export_json(*created));
    response.headers.set("Location", "/v1/users/me/exports/" + created->id);
    co_return response;
  }

  // Like every own-account route: 403 while the account is disabled or being deleted, so that
  // a token that got an account disabled cannot carry its data away.
  Awaitable<Response> get_export(Request& request) {
    auto me = co_await caller_profile(request);
    if (!me) co_return problem(me.error(), request);
    const std::string export_id(request.param("export_id").value_or(""));
    if (!Uuid::parse(export_id)) co_return problem(404, "no such export", request);
    auto found = co_await deps_.store->export_of(me->id, export_id);
    if (!found) co_return problem(found.error(), request);
    if (!*found) co_return problem(404, "no such export", request);
    co_return json_response(200, export_json(**found));
  }

  // --- admin -------------------------------------------------------------------------------
  Awaitable<Response> list_users(Request& request) {
    auto admin = co_await require_admin(request);
    if (!admin) co_return problem(admin.error(), request);
    std::size_t limit = kDefaultPageSize;
    if (auto text = request.query_param("limit")) {
      std::size_t parsed = 0;
      auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), parsed);
      if (ec != std::errc() || end != text->data() + text->size() || parsed < 1 ||
          parsed > kMaxPageSize) {
        co_return problem(400, "limit must be a whole number from 1 to 100", request);
      }
      limit = parsed;
    }
    std::string cursor = request.query_param("cursor").value_or("");
    if (!cursor.empty() && !Uuid::parse(cursor)) {
      co_return problem(400, "cursor is not one this API returned", request);
    }
    std::string query = request.query_param("q").value_or("");
    if (count_chars(query) > 100 || query.size() > 400) {
      co_return problem(400, "q is longer than 100 characters", request);
    }
    auto folded = fold_text(query);
    if (!folded) co_return problem(400, "q " + folded.error().message, request);
    auto page = co_await deps_.store->list(std::move(*folded), std::move(cursor), limit);
    if (!page) co_return problem(page.error(), request);
    js::array users;
    for (const auto& p : page->users) users.push_back(profile_json(p));
    js::object body{{"users", std::move(users)}};
    if (!page->next_cursor.empty()) body["next_cursor"] = page->next_cursor;
    co_return json_response(200, body);
  }

  Awaitable<Response> get_user(Request& request) {
    auto admin = co_await require_admin(request);
    if (!admin) co_return problem(admin.error(), request);
    const std::string id(request.param("user_id").value_or(""));
    if (!Uuid::parse(id)) co_return problem(404, "no such user", request);
    auto found = co_await deps_.store->profile(id, sql::Target::replica);
    if (!found) co_return problem(found.error(), request);
    if (!*found) co_return problem(404, "no such user", request);
    co_return profile_response(200, **found);
  }

  Awaitable<Response> set_status(Request& request, std::string status) {
    auto admin = co_await require_admin(request);
    if (!admin) co_return problem(admin.error(), request);
    const std::string id(request.param("user_id").value_or(""));
    if (!Uuid::parse(id)) co_return problem(404, "no such user", request);
    auto updated =
        co_await deps_.store->set_status(id, std::move(status), admin->subject, &request.trace);
    if (!updated) co_return problem(updated.error(), request);
    co_await deps_.profiles->invalidate(profile_cache_key(id));
    co_return profile_response(200, *updated);
  }

  Awaitable<Response> set_roles(Request& request) {
    auto admin = co_await require_admin(request);
    if (!admin) co_return problem(admin.error(), request);
    const std::string id(request.param("user_id").value_or(""));
    if (!Uuid::parse(id)) co_return problem(404, "no such user", request);
    auto body = json_object(request, {"roles"});
    if (!body) co_return problem(body.error(), request);
    const auto* roles_value = body->if_contains("roles");
    if (roles_value == nullptr || !roles_value->is_array()) {
      co_return problem(400, "roles must be an array of role names", request);
    }
    // Bounded before the loop: its duplicate check is quadratic in the array's length.
    if (roles_value->as_array().size() > kMaxRoles) {
      co_return problem(400, "at most 16 roles", request);
    }
    std::vector<std::string> roles;
    for (const auto& role : roles_value->as_array()) {
      if (!role.is_string() || !valid_role(role.as_string())) {
        co_return problem(400,
                          "each role must be a name of lowercase letters, digits, '_', '-' "
                          "or '.', starting with a letter, at most 32 characters",
                          request);
      }
      std::string name(role.as_string());
      if (std::find(roles.begin(), roles.end(), name) == roles.end()) roles.push_back(name);
    }
    std::sort(roles.begin(), roles.end());
    auto updated =
        co_await deps_.store->set_roles(id, std::move(roles), admin->subject, &request.trace);
    if (!updated) co_return problem(updated.error(), request);
    co_await deps_.profiles->invalidate(profile_cache_key(id));
    co_return profile_response(200, *updated);
  }

  // --- the auth service's credential check -------------------------------------------------
  Awaitable<Response> check_credentials(Request& request) {
    auto claims = co_await deps_.verifier->authenticate(request);
    if (!claims) co_return problem(claims.error(), request);
    if (!claims->has_scope(options_.credential_scope)) {
      co_return problem(403, "this endpoint needs the scope " + options_.credential_scope, request);
    }
    auto body = json_object(request, {"email", "password", "client_address"});
    if (!body) co_return problem(body.error(), request);
    auto email_text = text_field(*body, "email", kEmailRule);
    if (!email_text) co_return problem(email_text.error(), request);
    auto password =
        text_field(*body, "password", TextRule{.min_chars = 1, .max_bytes = kMaxPasswordBytes});
    if (!password) co_return problem(password.error(), request);
    auto client = text_field(*body, "client_address", TextRule{.required = false, .max_bytes = 64});
    if (!client) co_return problem(client.error(), request);
    const std::string address = *client ? **client : request.remote_address;
    auto email = normalize_email(**email_text);
    if (!email) co_return wrong_credentials(request);

    // Counted before the check, so that concurrent guesses cannot all pass a "not locked yet".
    auto refused = co_await deps_.lockout->attempt(email->key, address);
    if (refused) co_return too_many_attempts(*refused, request);
    auto credentials = co_await deps_.store->credentials_by_email(email->key);
    if (!credentials) co_return problem(credentials.error(), request);
    // An unknown address costs a hash check too, so that timing does not tell it apart.
    const std::string& stored = *credentials && !(*credentials)->password_hash.empty()
                                    ? (*credentials)->password_hash
                                    : dummy_hash_;
    auto checked = co_await check(**password, stored);
    if (!checked) co_return problem(checked.error(), request);
    if (!*credentials || !checked->matches || (*credentials)->status == "deleted" ||
        (*credentials)->status == "deleting") {
      co_return wrong_credentials(request);
    }
    co_await deps_.lockout->succeeded(email->key, address);
    if ((*credentials)->status != "active") {
      co_return problem(403, "the account is " + (*credentials)->status, request);
    }
    if (checked->needs_rehash) {
      // Parameters were raised since this hash was made: store one made with today's.
      auto rehashed = co_await hash(**password);
      if (rehashed) (void)co_await deps_.store->set_password_hash((*credentials)->id, *rehashed);
    }
    js::array roles;
    for (const auto& role : (*credentials)->roles) roles.emplace_back(role);
    co_return json_response(200, js::object{{"user_id", (*credentials)->id},
                                            {"email", email->address},
                                            {"roles", std::move(roles)}});
  }

 private:
  Awaitable<Result<std::string>> hash(std::string password) {
    const PasswordParams params = options_.password;
    std::function<Result<std::string>()> work = [password = std::move(password), params] {
      return hash_password(password, params);
    };
    auto hashed = co_await deps_.workers->run<std::string>(std::move(work));
    if (!hashed && hashed.error().code == Errc::unavailable) {
      co_return Error{Errc::unavailable, "too many password operations in progress"};
    }
    co_return hashed;
  }

  Awaitable<Result<PasswordCheck>> check(std::string password, std::string stored) {
    const PasswordParams params = options_.password;
    std::function<Result<PasswordCheck>()> work = [password = std::move(password),
                                                   stored = std::move(stored), params] {
      return check_password(password, stored, params);
    };
    co_return co_await deps_.workers->run<PasswordCheck>(std::move(work));
  }

  // The bearer token's subject, which must be a user id.
  Awaitable<Result<std::string>> caller_id(const Request& request) {
    auto claims = co_await deps_.verifier->authenticate(request);
    if (!claims) co_return claims.error();
    if (!Uuid::parse(claims->subject)) {
      co_return Error{Errc::permission_denied, "the token's subject is not a user"};
    }
    co_return claims->subject;
  }

  // The caller's profile, read through the cache: from the primary on a miss, so that an
  // owner reads their own writes (the cache entry is invalidated on every change).
  Awaitable<Result<Profile>> caller_profile(const Request& request) {
    auto id = co_await caller_id(request);
    if (!id) co_return id.error();
    auto store = deps_.store;
    const std::string user_id = *id;
    cache::Loader loader = [store, user_id]() -> Awaitable<Result<std::optional<std::string>>> {
      auto found = co_await store->profile(user_id, sql::Target::primary);
      if (!found) co_return found.error();
      if (!*found) co_return std::optional<std::string>();
      co_return std::optional<std::string>(profile_cache_value(**found));
    };
    cache::LoadOptions load_options;
    load_options.ttl = options_.profile_cache_ttl;
    load_options.negative_ttl = std::chrono::milliseconds(1'000);
    load_options.trace = &request.trace;
    auto cached = co_await deps_.profiles->get_or_load(profile_cache_key(user_id),
                                                       std::move(loader), load_options);
    if (!cached) co_return cached.error();
    std::optional<Profile> profile = *cached ? profile_from_cache(**cached) : std::nullopt;
    if (!profile || profile->status == "deleted") {
      co_return Error{Errc::not_found, "no such user"};
    }
    if (profile->status != "active") {
      co_return Error{Errc::permission_denied, "the account is " + profile->status};
    }
    co_return std::move(*profile);
  }

  Awaitable<Result<jwt::Claims>> require_admin(const Request& request) {
    auto claims = co_await deps_.verifier->authenticate(request);
    if (!claims) co_return claims.error();
    if (!claims->has_role(options_.admin_role)) {
      co_return Error{Errc::permission_denied, "this needs the " + options_.admin_role + " role"};
    }
    co_return claims;
  }

  js::object export_json(const Export& e) {
    js::object o{{"id", e.id}, {"status", e.status}, {"created_at", e.created_at}};
    if (!e.completed_at.empty()) o["completed_at"] = e.completed_at;
    if (e.status == "ready" && deps_.objects) {
      auto url = deps_.objects->presign(
          "GET", e.object_key,
          std::chrono::duration_cast<std::chrono::seconds>(options_.export_url_ttl));
      if (url) o["download_url"] = *url;
    }
    if (e.status == "failed") o["error"] = "the export failed; request a new one";
    return o;
  }

  ApiDependencies deps_;
  ApiOptions options_;
  std::string dummy_hash_;
};

}  // namespace

std::string profile_cache_key(const std::string& id) {
  return "user:profile:" + id;
}

void add_user_routes(http::Router& router, ApiDependencies deps, ApiOptions options,
                     std::size_t max_body_bytes) {
  auto dummy = hash_password("stoa-dummy-password-for-unknown-accounts", options.password);
  if (!dummy) throw std::runtime_error("user: cannot hash with argon2id: " + dummy.error().message);
  auto api = std::make_shared<UserApi>(std::move(deps), std::move(options), std::move(*dummy));
  const http::RouteOptions limits{.max_body_bytes = max_body_bytes};
  auto add = [&](const char* method, const char* path,
                 Awaitable<Response> (UserApi::*handler)(Request&)) {
    router.add(
        method, path, [api, handler](Request& request) { return ((*api).*handler)(request); },
        limits);
  };
  add("POST", "/v1/users", &UserApi::register_user);
  add("GET", "/v1/users/me", &UserApi::get_me);
  add("PATCH", "/v1/users/me", &UserApi::patch_me);
  add("POST", "/v1/users/me/password", &UserApi::change_password);
  add("GET", "/v1/users/me/addresses", &UserApi::list_addresses);
  add("POST", "/v1/users/me/addresses", &UserApi::add_address);
  add("PUT", "/v1/users/me/addresses/{address_id}", &UserApi::replace_address);
  add("DELETE", "/v1/users/me/addresses/{address_id}", &UserApi::delete_address);
  add("POST", "/v1/users/me/deletion", &UserApi::request_deletion);
  add("POST", "/v1/users/me/exports", &UserApi::request_export);
  add("GET", "/v1/users/me/exports/{export_id}", &UserApi::get_export);
  add("GET", "/v1/users", &UserApi::list_users);
  add("GET", "/v1/users/{user_id}", &UserApi::get_user);
  add("PUT", "/v1/users/{user_id}/roles", &UserApi::set_roles);
  add("POST", "/internal/v1/credentials/check", &UserApi::check_credentials);
  router.add(
      "POST", "/v1/users/{user_id}/disable",
      [api](Request& request) { return api->set_status(request, "disabled"); }, limits);
  router.add(
      "POST", "/v1/users/{user_id}/enable",
      [api](Request& request) { return api->set_status(request, "active"); }, limits);
}

}  // namespace stoa::user
