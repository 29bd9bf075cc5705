#include "services/user/user_store.h"

#include <chrono>
#include <functional>
#include <sstream>

#include "messaging/inbox.h"
#include "messaging/outbox.h"
#include "observability/json_text.h"
#include "runtime/uuid.h"
#include "services/user/user_events.h"

namespace stoa::user {
namespace {

using sql::Params;
using sql::Query;
using sql::Rows;
using sql::Target;

constexpr Query kInsertUser{
    "users.insert",
    "INSERT INTO users (id, email, email_key, password_hash, display_name, display_name_key, "
    "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) "
    "RETURNING id, email, display_name, roles, status, version, created_at, updated_at"};
constexpr Query kInsertAudit{"users.audit.insert",
                             "INSERT INTO user_audit (id, user_id, action, actor, detail, at) "
                             "VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr Query kSelectProfile{
    "users.profile",
    "SELECT id, email, display_name, roles, status, version, created_at, updated_at "
    "FROM users WHERE id = $1"};
constexpr Query kUpdateDisplayName{
    "users.update_display_name",
    "UPDATE users SET display_name = $2, display_name_key = $3, version = version + 1, "
    "updated_at = $4 WHERE id = $1 AND status = 'active' AND version = $5 "
    "RETURNING id, email, display_name, roles, status, version, created_at, updated_at"};
constexpr Query kCredentialsByEmail{
    "users.credentials_by_email",
    "SELECT id, password_hash, status, roles FROM users WHERE email_key = $1"};
constexpr Query kCredentialsById{
    "users.credentials_by_id", "SELECT id, password_hash, status, roles FROM users WHERE id = $1"};
constexpr Query kSetPasswordHash{
    "users.set_password_hash",
    "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1 AND status = 'active'"};
constexpr Query kSelectAddresses{
    "users.addresses",
    "SELECT id, label, line1, line2, city, region, postal_code, country, created_at "
    "FROM user_addresses WHERE user_id = $1 ORDER BY id"};
constexpr Query kCountAddresses{"users.addresses.count",
                                "SELECT COUNT(*) FROM user_addresses WHERE user_id = $1"};
constexpr Query kInsertAddress{
    "users.addresses.insert",
    "INSERT INTO user_addresses (id, user_id, label, line1, line2, city, region, postal_code, "
    "country, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"};
constexpr Query kUpdateAddress{
    "users.addresses.update",
    "UPDATE user_addresses SET label = $3, line1 = $4, line2 = $5, city = $6, region = $7, "
    "postal_code = $8, country = $9 WHERE id = $1 AND user_id = $2 "
    "RETURNING id, label, line1, line2, city, region, postal_code, country, created_at"};
constexpr Query kDeleteAddress{"users.addresses.delete",
                               "DELETE FROM user_addresses WHERE id = $1 AND user_id = $2"};
constexpr Query kDeleteAllAddresses{"users.addresses.delete_all",
                                    "DELETE FROM user_addresses WHERE user_id = $1"};
constexpr Query kList{
    "users.list",
    "SELECT id, email, display_name, roles, status, version, created_at, updated_at "
    "FROM users WHERE id > $1 AND (email_key LIKE $2 ESCAPE '\\' OR display_name_key LIKE $2 "
    "ESCAPE '\\') ORDER BY id LIMIT $3"};
constexpr Query kSetStatus{
    "users.set_status",
    "UPDATE users SET status = $2, version = version + 1, updated_at = $3 "
    "WHERE id = $1 AND status IN ('active', 'disabled') "
    "RETURNING id, email, display_name, roles, status, version, created_at, updated_at"};
constexpr Query kSetRoles{
    "users.set_roles",
    "UPDATE users SET roles = $2, version = version + 1, updated_at = $3 "
    "WHERE id = $1 AND status IN ('active', 'disabled') "
    "RETURNING id, email, display_name, roles, status, version, created_at, updated_at"};
constexpr Query kRequestDeletion{
    "users.request_deletion",
    "UPDATE users SET status = 'deleting', version = version + 1, updated_at = $2 "
    "WHERE id = $1 AND status IN ('active', 'disabled') "
    "RETURNING id, email, display_name, roles, status, version, created_at, updated_at"};
constexpr Query kErase{"users.erase",
                       "UPDATE users SET email = 'deleted:' || id, email_key = 'deleted:' || id, "
                       "password_hash = '', display_name = '', display_name_key = '', roles = '', "
                       "status = 'deleted', version = version + 1, updated_at = $2 "
                       "WHERE id = $1 AND status <> 'deleted'"};
constexpr Query kExportKeys{"users.exports.keys",
                            "SELECT object_key FROM user_exports WHERE user_id = $1 "
                            "AND object_key <> ''"};
constexpr Query kDeleteExports{"users.exports.delete_all",
                               "DELETE FROM user_exports WHERE user_id = $1"};
constexpr Query kInsertExport{
    "users.exports.insert",
    "INSERT INTO user_exports (id, user_id, status, created_at) VALUES ($1, $2, 'pending', $3)"};
constexpr Query kSelectExport{
    "users.exports.get",
    "SELECT id, user_id, status, object_key, error, created_at, completed_at "
    "FROM user_exports WHERE id = $1 AND user_id = $2"};
constexpr Query kFinishExport{
    "users.exports.finish",
    "UPDATE user_exports SET status = $2, object_key = $3, error = $4, completed_at = $5 "
    "WHERE id = $1"};

std::string now() {
  return obs::json_text::rfc3339_ms(std::chrono::system_clock::now());
}

Profile profile_from(const Rows& rows, std::size_t r) {
  Profile p;
  p.id = rows.at(r, 0).text();
  p.email = rows.at(r, 1).text();
  p.display_name = rows.at(r, 2).text();
  p.roles = split_roles(rows.at(r, 3).text());
  p.status = rows.at(r, 4).text();
  p.version = rows.at(r, 5).integer();
  p.created_at = rows.at(r, 6).text();
  p.updated_at = rows.at(r, 7).text();
  return p;
}

Address address_from(const Rows& rows, std::size_t r) {
  Address a;
  a.id = rows.at(r, 0).text();
  a.label = rows.at(r, 1).text();
  a.line1 = rows.at(r, 2).text();
  a.line2 = rows.at(r, 3).text();
  a.city = rows.at(r, 4).text();
  a.region = rows.at(r, 5).text();
  a.postal_code = rows.at(r, 6).text();
  a.country = rows.at(r, 7).text();
  a.created_at = rows.at(r, 8).text();
  return a;
}

Credentials credentials_from(const Rows& rows) {
  Credentials c;
  c.id = rows.at(0, 0).text();
  c.password_hash = rows.at(0, 1).text();
  c.status = rows.at(0, 2).text();
  c.roles = split_roles(rows.at(0, 3).text());
  return c;
}

Export export_from(const Rows& rows) {
  Export e;
  e.id = rows.at(0, 0).text();
  e.user_id = rows.at(0, 1).text();
  e.status = rows.at(0, 2).text();
  e.object_key = rows.at(0, 3).text();
  e.error = rows.at(0, 4).text();
  e.created_at = rows.at(0, 5).text();
  e.completed_at = rows.at(0, 6).text();
  return e;
}

// LIKE's wildcards in a search query match themselves.
std::string like_contains(const std::string& text) {
  std::string pattern = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '%';
  return pattern;
}

Params audit_params(const std::string& user_id, const char* action, const std::string& actor,
                    const std::string& detail, const std::string& at) {
  return Params{Uuid::v7().to_string(), user_id, std::string(action), actor, detail, at};
}

// What a change announces once it commits: the event, made from the statement's rows.
using EventOf = std::function<std::optional<messaging::Message>(const Rows& rows)>;

// Runs `statement`, the audit record and the change's event (through the outbox) in one
// transaction; the statement's rows, or Errc::not_found when it changed nothing.
Awaitable<Result<Rows>> with_audit(sql::Database& db, Query statement, Params params, Params audit,
                                   EventOf event_of) {
  auto tx = co_await db.begin();
  if (!tx) co_return tx.error();
  auto rows = co_await (*tx)->execute(statement, std::move(params));
  if (!rows) co_return rows.error();
  if (rows->empty() && rows->affected() == 0) co_return Error{Errc::not_found, "no such user"};
  auto audited = co_await (*tx)->execute(kInsertAudit, std::move(audit));
  if (!audited) co_return audited.error();
  if (auto event = event_of ? event_of(*rows) : std::nullopt) {
    auto appended = co_await messaging::append(**tx, std::move(*event));
    if (!appended) co_return appended.error();
  }
  auto committed = co_await (*tx)->commit();
  if (!committed) co_return committed.error();
  co_return rows;
}

}  // namespace

std::vector<std::string> split_roles(const std::string& text) {
  std::vector<std::string> roles;
  std::istringstream in(text);
  std::string role;
  while (in >> role) roles.push_back(role);
  return roles;
}

std::string join_roles(const std::vector<std::string>& roles) {
  std::string out;
  for (const auto& role : roles) {
    if (!out.empty()) out += ' ';
    out += role;
  }
  return out;
}

Awaitable<Result<Profile>> UserStore::create(Email email, std::string password_hash,
                                             std::string display_name, const TraceContext* trace) {
  auto display_key = fold_text(display_name);
  if (!display_key) co_return display_key.error();
  const std::string id = Uuid::v7().to_string();
  const std::string at = now();
  Params params{id,           email.address, email.key, std::move(password_hash),
                display_name, *display_key,  at};
  Params audit = audit_params(id, "registered", id, "", at);
  EventOf event = [id, at, trace](const Rows&) {
    return std::optional(user_event(kRegistered, id, {{"created_at", at}}, trace));
  };
  auto rows =
      co_await with_audit(*db_, kInsertUser, std::move(params), std::move(audit), std::move(event));
  if (!rows) {
    if (rows.error().code == Errc::conflict) {
      co_return Error{Errc::conflict, "an account with this email exists"};
    }
    co_return rows.error();
  }
  co_return profile_from(*rows, 0);
}

Awaitable<Result<std::optional<Profile>>> UserStore::profile(std::string id, Target target) {
  Params params{std::move(id)};
  sql::Options options;
  options.target = target;
  auto rows = co_await db_->execute(kSelectProfile, std::move(params), options);
  if (!rows) co_return rows.error();
  if (rows->empty()) co_return std::optional<Profile>();
  co_return std::optional<Profile>(profile_from(*rows, 0));
}

Awaitable<Result<Profile>> UserStore::update_display_name(std::string id, std::string display_name,
                                                          std::int64_t expected_version,
                                                          const TraceContext* trace) {
  auto display_key = fold_text(display_name);
  if (!display_key) co_return display_key.error();
  const std::string at = now();
  Params params{id, display_name, *display_key, at, expected_version};
  Params audit = audit_params(id, "updated", id, "display_name", at);
  EventOf event = [id, trace](const Rows& rows) {
    const std::vector<std::string> changed{"display_name"};
    return std::optional(updated_event(id, rows.at(0, 5).integer(), changed, trace));
  };
  auto rows = co_await with_audit(*db_, kUpdateDisplayName, std::move(params), std::move(audit),
                                  std::move(event));
  if (rows) co_return profile_from(*rows, 0);
  if (rows.error().code != Errc::not_found) co_return rows.error();
  // Nothing changed: tell a stale version from a missing or inactive account.
  auto current = co_await profile(id, Target::primary);
  if (!current) co_return current.error();
  if (!*current || (*current)->status == "deleted") {
    co_return Error{Errc::not_found, "no such user"};
  }
  if ((*current)->status != "active") {
    co_return Error{Errc::permission_denied, "the account is " + (*current)->status};
  }
  co_return Error{Errc::aborted, "the profile changed since version " +
                                     std::to_string(expected_version) + " (it is at " +
                                     std::to_string((*current)->version) + ")"};
}

Awaitable<Result<std::optional<Credentials>>> UserStore::credentials_by_email(
    std::string email_key) {
  Params params{std::move(email_key)};
  auto rows = co_await db_->execute(kCredentialsByEmail, std::move(params));
  if (!rows) co_return rows.error();
  if (rows->empty()) co_return std::optional<Credentials>();
  co_return std::optional<Credentials>(credentials_from(*rows));
}

Awaitable<Result<std::optional<Credentials>>> UserStore::credentials_by_id(std::string id) {
  Params params{std::move(id)};
  auto rows = co_await db_->execute(kCredentialsById, std::move(params));
  if (!rows) co_return rows.error();
  if (rows->empty()) co_return std::optional<Credentials>();
  co_return std::optional<Credentials>(credentials_from(*rows));
}

Awaitable<Status> UserStore::set_password_hash(std::string id, std::string password_hash) {
  const std::string at = now();
  Params params{id, std::move(password_hash), at};
  Params audit = audit_params(id, "password_changed", id, "", at);
  auto rows =
      co_await with_audit(*db_, kSetPasswordHash, std::move(params), std::move(audit), nullptr);
  if (!rows) co_return rows.error();
  co_return Ok{};
}

Awaitable<Result<std::vector<Address>>> UserStore::addresses(std::string user_id) {
  Params params{std::move(user_id)};
  auto rows = co_await db_->execute(kSelectAddresses, std::move(params));
  if (!rows) co_return rows.error();
  std::vector<Address> out;
  for (std::size_t r = 0; r < rows->size(); ++r) out.push_back(address_from(*rows, r));
  co_return out;
}

Awaitable<Result<Address>> UserStore::add_address(std::string user_id, Address address) {
  address.id = Uuid::v7().to_string();
  address.created_at = now();
  // Serializable, so that two concurrent adds cannot both pass the count.
  sql::TransactionOptions options;
  options.isolation = sql::Isolation::serializable;
  for (int attempt = 0;; ++attempt) {
    auto tx = co_await db_->begin(options);
    if (!tx) co_return tx.error();
    Params count_params{user_id};
    auto count = co_await (*tx)->execute(kCountAddresses, std::move(count_params));
    if (!count) {
      if (count.error().code == Errc::aborted && attempt < 3) continue;
      co_return count.error();
    }
    if (static_cast<std::size_t>(count->at(0, 0).integer()) >= kMaxAddresses) {
      co_return Error{Errc::conflict,
                      "an account holds at most " + std::to_string(kMaxAddresses) + " addresses"};
    }
    Params params{address.id,      user_id,           address.label,  address.line1,
                  address.line2,   address.city,      address.region, address.postal_code,
                  address.country, address.created_at};
    auto inserted = co_await (*tx)->execute(kInsertAddress, std::move(params));
    if (!inserted) {
      if (inserted.error().code == Errc::aborted && attempt < 3) continue;
      co_return inserted.error();
    }
    auto committed = co_await (*tx)->commit();
    if (!committed) {
      if (committed.error().code == Errc::aborted && attempt < 3) continue;
      co_return committed.error();
    }
    co_return address;
  }
}

Awaitable<Result<Address>> UserStore::replace_address(std::string user_id, Address address) {
  Params params{address.id,   user_id,        address.label,       address.line1,  address.line2,
                address.city, address.region, address.postal_code, address.country};
  auto rows = co_await db_->execute(kUpdateAddress, std::move(params));
  if (!rows) co_return rows.error();
  if (rows->empty()) co_return Error{Errc::not_found, "no such address"};
  co_return address_from(*rows, 0);
}

Awaitable<Status> UserStore::delete_address(std::string user_id, std::string address_id) {
  Params params{std::move(address_id), std::move(user_id)};
  auto rows = co_await db_->execute(kDeleteAddress, std::move(params));
  if (!rows) co_return rows.error();
  if (rows->affected() == 0) co_return Error{Errc::not_found, "no such address"};
  co_return Ok{};
}

Awaitable<Result<UserPage>> UserStore::list(std::string folded_query, std::string cursor,
                                            std::size_t limit) {
  // One more than asked: whether there is a next page.
  Params params{std::move(cursor), like_contains(folded_query),
                static_cast<std::int64_t>(limit + 1)};
  sql::Options options;
  options.target = Target::replica;
  auto rows = co_await db_->execute(kList, std::move(params), options);
  if (!rows) co_return rows.error();
  UserPage page;
  for (std::size_t r = 0; r < rows->size() && r < limit; ++r) {
    page.users.push_back(profile_from(*rows, r));
  }
  if (rows->size() > limit && !page.users.empty()) page.next_cursor = page.users.back().id;
  co_return page;
}

Awaitable<Result<Profile>> UserStore::set_status(std::string id, std::string status,
                                                 std::string actor, const TraceContext* trace) {
  const std::string at = now();
  Params params{id, status, at};
  Params audit = audit_params(id, status == "disabled" ? "disabled" : "enabled", actor, "", at);
  EventOf event = [id, trace](const Rows& rows) {
    const std::vector<std::string> changed{"status"};
    return std::optional(updated_event(id, rows.at(0, 5).integer(), changed, trace));
  };
  auto rows =
      co_await with_audit(*db_, kSetStatus, std::move(params), std::move(audit), std::move(event));
  if (!rows) co_return rows.error();
  co_return profile_from(*rows, 0);
}

Awaitable<Result<Profile>> UserStore::set_roles(std::string id, std::vector<std::string> roles,
                                                std::string actor, const TraceContext* trace) {
  const std::string at = now();
  const std::string joined = join_roles(roles);
  Params params{id, joined, at};
  Params audit = audit_params(id, "roles_changed", actor, joined, at);
  EventOf event = [id, trace](const Rows& rows) {
    const std::vector<std::string> changed{"roles"};
    return std::optional(updated_event(id, rows.at(0, 5).integer(), changed, trace));
  };
  auto rows =
      co_await with_audit(*db_, kSetRoles, std::move(params), std::move(audit), std::move(event));
  if (!rows) co_return rows.error();
  co_return profile_from(*rows, 0);
}

Awaitable<Result<Profile>> UserStore::request_deletion(std::string id, const TraceContext* trace) {
  const std::string at = now();
  Params params{id, at};
  Params audit = audit_params(id, "deletion_requested", id, "", at);
  EventOf event = [id, trace](const Rows&) {
    return std::optional(user_event(kDeletionRequested, id, {}, trace));
  };
  auto rows = co_await with_audit(*db_, kRequestDeletion, std::move(params), std::move(audit),
                                  std::move(event));
  if (!rows) co_return rows.error();
  co_return profile_from(*rows, 0);
}

Awaitable<Result<std::vector<std::string>>> UserStore::export_keys(std::string id) {
  Params params{std::move(id)};
  auto keys = co_await db_->execute(kExportKeys, std::move(params));
  if (!keys) co_return keys.error();
  std::vector<std::string> out;
  for (std::size_t r = 0; r < keys->size(); ++r) out.push_back(keys->at(r, 0).text());
  co_return out;
}

Awaitable<Status> UserStore::erase(sql::Transaction& tx, std::string id,
                                   const TraceContext* trace) {
  const std::string at = now();
  Params erase_params{id, at};
  auto erased = co_await tx.execute(kErase, std::move(erase_params));
  if (!erased) co_return erased.error();
  Params address_params{id};
  auto addresses = co_await tx.execute(kDeleteAllAddresses, std::move(address_params));
  if (!addresses) co_return addresses.error();
  Params export_params{id};
  auto exports = co_await tx.execute(kDeleteExports, std::move(export_params));
  if (!exports) co_return exports.error();
  if (erased->affected() == 0) co_return Ok{};  // erased before: nothing to announce
  Params audit = audit_params(id, "deleted", "stoa.user.deletion", "", at);
  auto audited = co_await tx.execute(kInsertAudit, std::move(audit));
  if (!audited) co_return audited.error();
  auto event = user_event(kDeleted, id, {}, trace);
  co_return co_await messaging::append(tx, std::move(event));
}

Awaitable<Result<Export>> UserStore::create_export(std::string user_id, const TraceContext* trace) {
  Export e;
  e.id = Uuid::v7().to_string();
  e.user_id = user_id;
  e.status = "pending";
  e.created_at = now();
  auto tx = co_await db_->begin();
  if (!tx) co_return tx.error();
  Params params{e.id, e.user_id, e.created_at};
  auto rows = co_await (*tx)->execute(kInsertExport, std::move(params));
  if (!rows) co_return rows.error();
  auto event = user_event(kExportRequested, user_id, {{"export_id", e.id}}, trace);
  auto appended = co_await messaging::append(**tx, std::move(event));
  if (!appended) co_return appended.error();
  auto committed = co_await (*tx)->commit();
  if (!committed) co_return committed.error();
  co_return e;
}

Awaitable<Result<std::optional<Export>>> UserStore::export_of(std::string user_id,
                                                              std::string export_id) {
  Params params{std::move(export_id), std::move(user_id)};
  auto rows = co_await db_->execute(kSelectExport, std::move(params));
  if (!rows) co_return rows.error();
  if (rows->empty()) co_return std::optional<Export>();
  co_return std::optional<Export>(export_from(*rows));
}

Awaitable<Status> UserStore::finish_export(sql::Transaction& tx, std::string export_id,
                                           std::string object_key, std::string error) {
  const std::string status = error.empty() ? "ready" : "failed";
  Params params{std::move(export_id), status, std::move(object_key), std::move(error), now()};
  auto rows = co_await tx.execute(kFinishExport, std::move(params));
  if (!rows) co_return rows.error();
  co_return Ok{};
}

}  // namespace stoa::user
