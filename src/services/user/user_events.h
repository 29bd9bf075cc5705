#pragma once
// The user service's events (CloudEvents on topic "stoa.user", subject = the user's id), all
// appended through the outbox in the transaction of the change they announce:
//
//   stoa.user.registered.v1          {user_id, created_at}
//   stoa.user.updated.v1             {user_id, version, changed: [field, ...]}
//   stoa.user.deleted.v1             {user_id}
//
// and two the service consumes itself, through the workers (user_workers.cpp):
//
//   stoa.user.export_requested.v1    {user_id, export_id}
//   stoa.user.deletion_requested.v1  {user_id}
//
// No personal data travels in them (no email, no name): a consumer that needs it asks the
// service, so an erased account leaves no copy in the broker's log.
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "messaging/event.h"

namespace stoa {
struct TraceContext;
}

namespace stoa::user {

inline constexpr const char* kUserTopic = "stoa.user";
inline constexpr const char* kRegistered = "stoa.user.registered.v1";
inline constexpr const char* kUpdated = "stoa.user.updated.v1";
inline constexpr const char* kDeleted = "stoa.user.deleted.v1";
inline constexpr const char* kExportRequested = "stoa.user.export_requested.v1";
inline constexpr const char* kDeletionRequested = "stoa.user.deletion_requested.v1";

// An event of `type` about user `user_id`, in the trace of `trace` (may be nullptr).
messaging::Message user_event(const char* type, const std::string& user_id,
                              boost::json::object data, const TraceContext* trace);

messaging::Message updated_event(const std::string& user_id, std::int64_t version,
                                 const std::vector<std::string>& changed,
                                 const TraceContext* trace);

}  // namespace stoa::user
