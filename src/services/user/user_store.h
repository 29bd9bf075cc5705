#pragma once
// The user service's data in the `users` schema (migrations/users/), through the SQL
// interface: every statement is a named constant, every call says where it may run. Writes
// run in transactions with their audit record; reads of one's own data go to the primary
// (read-your-writes), admin lists to a replica.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/sql/sql.h"
#include "runtime/async.h"
#include "runtime/error.h"
#include "services/user/email.h"

namespace stoa {
struct TraceContext;
}

namespace stoa::user {

struct Profile {
  std::string id;
  std::string email;
  std::string display_name;
  std::vector<std::string> roles;
  std::string status;  // active, disabled, deleting, deleted
  std::int64_t version = 0;
  std::string created_at;
  std::string updated_at;
};

struct Address {
  std::string id;
  std::string label;
  std::string line1;
  std::string line2;
  std::string city;
  std::string region;
  std::string postal_code;
  std::string country;
  std::string created_at;
};

struct Credentials {
  std::string id;
  std::string password_hash;
  std::string status;
  std::vector<std::string> roles;
};

struct Export {
  std::string id;
  std::string user_id;
  std::string status;  // pending, ready, failed
  std::string object_key;
  std::string error;
  std::string created_at;
  std::string completed_at;
};

struct UserPage {
  std::vector<Profile> users;
  std::string next_cursor;  // "" on the last page
};

// At most this many addresses per account.
inline constexpr std::size_t kMaxAddresses = 20;

class UserStore {
 public:
  explicit UserStore(std::shared_ptr<sql::Database> db) : db_(std::move(db)) {}

  sql::Database& database() { return *db_; }

  // Each change below appends its event (user_events.h) through the outbox in its own
  // transaction; `trace` (may be nullptr) becomes the event's traceparent.
  // Errc::conflict when the address's key is taken.
  Awaitable<Result<Profile>> create(Email email, std::string password_hash,
                                    std::string display_name, const TraceContext* trace);
  Awaitable<Result<std::optional<Profile>>> profile(std::string id, sql::Target target);
  // Errc::not_found (no such user, or it was deleted), permission_denied (disabled or being
  // deleted), aborted (the version is not `expected_version`: the caller's copy is stale).
  Awaitable<Result<Profile>> update_display_name(std::string id, std::string display_name,
                                                 std::int64_t expected_version,
                                                 const TraceContext* trace);
  Awaitable<Result<std::optional<Credentials>>> credentials_by_email(std::string email_key);
  Awaitable<Result<std::optional<Credentials>>> credentials_by_id(std::string id);
  Awaitable<Status> set_password_hash(std::string id, std::string password_hash);

  Awaitable<Result<std::vector<Address>>> addresses(std::string user_id);
  // Errc::conflict beyond kMaxAddresses.
  Awaitable<Result<Address>> add_address(std::string user_id, Address address);
  Awaitable<Result<Address>> replace_address(std::string user_id, Address address);
  Awaitable<Status> delete_address(std::string user_id, std::string address_id);

  // Admin: users whose email key or display-name key contains `folded_query` (all when
  // empty), after `cursor` (an id), from a replica.
  Awaitable<Result<UserPage>> list(std::string folded_query, std::string cursor, std::size_t limit);
  // Admin: disable/enable (status active <-> disabled), set roles. Errc::not_found.
  Awaitable<Result<Profile>> set_status(std::string id, std::string status, std::string actor,
                                        const TraceContext* trace);
  Awaitable<Result<Profile>> set_roles(std::string id, std::vector<std::string> roles,
                                       std::string actor, const TraceContext* trace);

  // The owner asks for deletion: status becomes deleting and the deletion worker gets
  // stoa.user.deletion_requested.v1 (Errc::not_found when there is no such active or
  // disabled user).
  Awaitable<Result<Profile>> request_deletion(std::string id, const TraceContext* trace);
  // The deletion worker: the object keys of the user's exports (to delete first), then, in
  // the worker's transaction, the erasure of personal data, addresses and exports, with the
  // audit record kept and stoa.user.deleted.v1 appended. Idempotent.
  Awaitable<Result<std::vector<std::string>>> export_keys(std::string id);
  Awaitable<Status> erase(sql::Transaction& tx, std::string id, const TraceContext* trace);

  // A pending export; the export worker gets stoa.user.export_requested.v1.
  Awaitable<Result<Export>> create_export(std::string user_id, const TraceContext* trace);
  Awaitable<Result<std::optional<Export>>> export_of(std::string user_id, std::string export_id);
  Awaitable<Status> finish_export(sql::Transaction& tx, std::string export_id,
                                  std::string object_key, std::string error);

 private:
  std::shared_ptr<sql::Database> db_;
};

// "admin support" <-> {"admin", "support"}.
std::vector<std::string> split_roles(const std::string& text);
std::string join_roles(const std::vector<std::string>& roles);

}  // namespace stoa::user
