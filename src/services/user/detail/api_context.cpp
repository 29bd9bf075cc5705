#include "services/user/detail/api_context.h"

#include <boost/json/array.hpp>

#include <functional>
#include <optional>
#include <utility>

#include "data/cache/loading_cache.h"
#include "data/objects/object_store.h"
#include "runtime/json.h"
#include "runtime/worker_pool.h"
#include "services/user/user_json.h"

namespace stoa::user::detail {
namespace {

namespace js = boost::json;

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

}  // namespace

Api::Api(ApiDependencies deps, ApiOptions options, std::string dummy_hash)
    : deps_(std::move(deps)), options_(std::move(options)), dummy_hash_(std::move(dummy_hash)) {}

Awaitable<Result<std::string>> Api::hash(std::string password) const {
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

Awaitable<Result<PasswordCheck>> Api::check(std::string password, std::string stored) const {
  const PasswordParams params = options_.password;
  std::function<Result<PasswordCheck>()> work = [password = std::move(password),
                                                 stored = std::move(stored), params] {
    return check_password(password, stored, params);
  };
  co_return co_await deps_.workers->run<PasswordCheck>(std::move(work));
}

Awaitable<Result<Profile>> Api::caller_profile(const Request& request) const {
  auto store = deps_.store;
  const std::string user_id = caller_id(request);
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
  auto cached = co_await deps_.profiles->get_or_load(profile_cache_key(user_id), std::move(loader),
                                                     load_options);
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

Awaitable<void> Api::invalidate_profile(std::string id) const {
  co_await deps_.profiles->invalidate(profile_cache_key(id));
}

js::object Api::export_json(const Export& e) const {
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

const std::string& caller_id(const Request& request) {
  return request.caller.value().subject;
}

}  // namespace stoa::user::detail
