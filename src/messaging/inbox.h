#pragma once
// The consumer inbox: the ids of the events a consumer group has processed, recorded in the
// same SQL transaction as the handler's own writes. The broker delivers at least once (a
// redelivery after a crash, a relay publishing again after a lease expired); the inbox makes
// the effects apply exactly once: a delivery whose id is already recorded is skipped, and
// acked. docs/messaging.md ("The inbox").
//
//   auto done = co_await messaging::process_once(*db, delivery.message.event.id, group,
//       [&](sql::Transaction& tx) -> Awaitable<Status> { ...writes through tx... });
//
// Two deliveries of one event at once (a redelivery while the first is still running)
// serialize on the inbox row: the second waits for the first's transaction, then finds the
// id recorded (PostgreSQL: the primary key's lock; SQLite: the single writer).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "runtime/async.h"
#include "runtime/clock.h"
#include "runtime/error.h"

namespace stoa::sql {
class Database;
class Transaction;
struct TransactionOptions;
}  // namespace stoa::sql

namespace stoa::messaging {

// Inside the caller's transaction: records `event_id` for `group`. True when it was new
// (go on with the handler's writes), false when the group processed it before (roll back:
// nothing to do). Put it first in the transaction, so that a concurrent duplicate waits.
Awaitable<Result<bool>> record_processed(sql::Transaction& tx, std::string group,
                                         std::string event_id);

enum class Processed { now, before };

// Begins a transaction, records the id, runs `work` in it and commits; a failing `work`
// (or commit) rolls everything back, the inbox row included, so the next delivery tries
// again. Processed::before when the id was recorded already (work not run).
using InboxWork = std::function<Awaitable<Status>(sql::Transaction& tx)>;
Awaitable<Result<Processed>> process_once(sql::Database& db, std::string group,
                                          std::string event_id, InboxWork work);

// Deletes the records older than `ttl` (the inbox deduplicates within that window: keep it
// far beyond the broker's redelivery horizon), as of `clock`'s present. Returns how many.
Awaitable<Result<std::uint64_t>> prune_inbox(sql::Database& db, std::chrono::milliseconds ttl,
                                             const Clock& clock = Clock::real());

}  // namespace stoa::messaging
