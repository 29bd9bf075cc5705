// The user service's background jobs, run by the workers component:
// - user-export: stoa.user.export_requested.v1 -> the user's data as JSON in object storage
//   (exports/<user>/<export>.json); the export becomes ready and its owner gets a presigned
//   link from GET /v1/users/me/exports/{id}.
// - user-deletion: stoa.user.deletion_requested.v1 -> the stored exports are deleted, then the
//   personal data is erased (the audit record stays) and stoa.user.deleted.v1 goes out.
// Each records the event in the inbox in the transaction of its database writes, so a
// redelivery changes nothing twice; the object-store steps before it are idempotent.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "data/cache/cache.h"
#include "data/cache/open_cache.h"
#include "data/objects/byte_source.h"
#include "data/objects/object_store.h"
#include "data/objects/objects.h"
#include "data/sql/migrations.h"
#include "data/sql/sql.h"
#include "messaging/event_types.h"
#include "messaging/inbox.h"
#include "observability/json_text.h"
#include "runtime/json.h"
#include "services/user/user_api.h"
#include "services/user/user_events.h"
#include "services/user/user_json.h"
#include "services/user/user_store.h"
#include "workers/handlers.h"

namespace stoa::user {
namespace {

namespace js = boost::json;

// The field of a validated event's JSON data.
std::string field_of(const messaging::Delivery& delivery, const char* name) {
  auto parsed = json::parse(delivery.message.event.data);
  if (!parsed || !parsed->is_object()) return {};
  const auto* value = parsed->as_object().if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::string export_key(const std::string& user_id, const std::string& export_id) {
  return "exports/" + user_id + "/" + export_id + ".json";
}

// Everything the service holds about the user, as its owner may read it.
Awaitable<Result<std::optional<std::string>>> export_document(UserStore& store,
                                                              const std::string& user_id) {
  auto profile = co_await store.profile(user_id, sql::Target::primary);
  if (!profile) co_return profile.error();
  if (!*profile || (*profile)->status == "deleted") co_return std::optional<std::string>();
  auto addresses = co_await store.addresses(user_id);
  if (!addresses) co_return addresses.error();
  js::array address_list;
  for (const auto& a : *addresses) address_list.push_back(address_json(a));
  js::object document{{"exported_at", obs::json_text::rfc3339_ms(std::chrono::system_clock::now())},
                      {"profile", profile_json(**profile)},
                      {"addresses", std::move(address_list)}};
  co_return std::optional<std::string>(json::serialize(document));
}

Awaitable<Status> run_export(std::shared_ptr<UserStore> store,
                             std::shared_ptr<objects::ObjectStore> objects,
                             messaging::Delivery delivery) {
  const std::string user_id = field_of(delivery, "user_id");
  const std::string export_id = field_of(delivery, "export_id");
  auto document = co_await export_document(*store, user_id);
  if (!document) co_return document.error();
  std::string key;
  std::string failure;
  if (*document) {
    key = export_key(user_id, export_id);
    objects::StringSource body(std::move(**document));
    objects::PutOptions options;
    options.content_type = "application/json";
    auto put = co_await objects->put(key, body, std::move(options));
    if (!put) co_return put.error();  // retried with backoff
  } else {
    failure = "the account no longer exists";
  }
  messaging::InboxWork work = [store, export_id, key,
                               failure](sql::Transaction& tx) -> Awaitable<Status> {
    co_return co_await store->finish_export(tx, export_id, key, failure);
  };
  auto done = co_await messaging::process_once(store->database(), delivery.group,
                                               delivery.message.event.id, std::move(work));
  if (!done) co_return done.error();
  co_return Ok{};
}

Awaitable<Status> run_deletion(std::shared_ptr<UserStore> store,
                               std::shared_ptr<objects::ObjectStore> objects,
                               std::shared_ptr<cache::Cache> cache, messaging::Delivery delivery) {
  const std::string user_id = field_of(delivery, "user_id");
  // The stored copies first: if the process dies after this, the redelivery finds the rows
  // still there and deletes again (deleting a missing object succeeds).
  auto keys = co_await store->export_keys(user_id);
  if (!keys) co_return keys.error();
  for (const auto& key : *keys) {
    auto removed = co_await objects->remove(key);
    if (!removed) co_return removed.error();
  }
  const TraceContext trace = delivery.trace;
  messaging::InboxWork work = [store, user_id, trace](sql::Transaction& tx) -> Awaitable<Status> {
    co_return co_await store->erase(tx, user_id, &trace);
  };
  auto done = co_await messaging::process_once(store->database(), delivery.group,
                                               delivery.message.event.id, std::move(work));
  if (!done) co_return done.error();
  // The profile cached while the account was being deleted is gone with it.
  std::string key = profile_cache_key(user_id);
  co_await cache->erase(std::move(key));
  co_return Ok{};
}

// The store and object store of the worker process, with the users schema migrated (the
// workers may run without the user component: `stoa serve workers`).
struct Dependencies {
  std::shared_ptr<UserStore> store;
  std::shared_ptr<objects::ObjectStore> objects;
  std::shared_ptr<cache::Cache> cache;
};

Dependencies dependencies(ComponentHost& host) {
  sql::apply_migrations(host, "users");
  return {std::make_shared<UserStore>(sql::database(host)), objects::shared_object_store(host),
          cache::shared_cache(host)};
}

[[maybe_unused]] const bool export_registered = workers::register_handler({
    .group = "user-export",
    .topic = kUserTopic,
    .type = kExportRequested,
    .validator = messaging::EventTypes::json_object_with({"user_id", "export_id"}),
    .make = [](ComponentHost& host) -> workers::Handler {
      auto deps = dependencies(host);
      return [deps](const messaging::Delivery& delivery) {
        return run_export(deps.store, deps.objects, delivery);
      };
    },
});

[[maybe_unused]] const bool deletion_registered = workers::register_handler({
    .group = "user-deletion",
    .topic = kUserTopic,
    .type = kDeletionRequested,
    .validator = messaging::EventTypes::json_object_with({"user_id"}),
    .make = [](ComponentHost& host) -> workers::Handler {
      auto deps = dependencies(host);
      return [deps](const messaging::Delivery& delivery) {
        return run_deletion(deps.store, deps.objects, deps.cache, delivery);
      };
    },
});

}  // namespace
}  // namespace stoa::user
