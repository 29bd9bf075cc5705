#pragma once
// The transactional outbox: a service appends its events inside its own SQL transaction,
// so an event exists exactly when the state change that caused it was committed. A relay
// then publishes the rows through the Broker, marks them sent, and retries what failed.
// docs/messaging.md ("The outbox") explains the decisions; in short:
//
// - Order per aggregate: a row's aggregate is "topic/subject" (the event's subject names
//   the aggregate). A row is published only once every earlier row of its aggregate is
//   marked sent, so a later event of an aggregate never reaches the broker before an
//   earlier one was confirmed. Events without a subject have no order among themselves.
//   Rows are ordered by id, the order of the appends: a service serializes the writes to
//   one aggregate (it locks the aggregate's row), so that is the order of its commits.
// - A failed publish stays in the table with its attempts, the error and the time of the
//   next try (the broker's backoff: broker.retry_delay doubling up to
//   broker.max_retry_delay); it is never dropped.
// - Several relays (processes, each with its own connection) share the table: a relay
//   claims a batch of rows with a lease (claimed_by + claim_expires_at) in one short
//   transaction (SQLite: the single writer; PostgreSQL: under a transaction-scoped advisory
//   lock), so in steady state no row is published twice. A relay that dies holding a lease
//   delays its rows until the lease expires; then another relay publishes them again:
//   at least once, and the consumer's inbox (inbox.h) drops the duplicate.
// - Sent rows are deleted after outbox.sent_ttl (prune()).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "messaging/broker.h"
#include "messaging/event.h"
#include "runtime/async.h"
#include "runtime/clock.h"
#include "runtime/error.h"

namespace stoa::sql {
class Database;
class Transaction;
}  // namespace stoa::sql

namespace stoa::messaging {

// [outbox] in stoa.toml (plus the broker's retry policy and message bound).
struct OutboxOptions {
  std::chrono::milliseconds poll_interval{100};  // an idle relay looks for rows this often
  std::size_t batch_size = 256;                  // rows one relay claims at a time
  std::chrono::milliseconds lease_timeout{30'000};
  std::chrono::milliseconds sent_ttl{24 * 3'600'000};  // sent rows are kept this long
  std::chrono::milliseconds prune_interval{60'000};
  std::chrono::milliseconds retry_delay{1'000};  // broker.retry_delay
  std::chrono::milliseconds max_retry_delay{300'000};
  std::size_t max_message_bytes = 1024 * 1024;  // broker.max_message_bytes
  // The relay's time: its leases, the retries' due times, sent times and pruning (system
  // time), and when the workers' relay prunes (steady time). Must outlive the relay.
  const Clock* clock = &Clock::real();

  // Throws std::invalid_argument naming the key when a value is out of range.
  static OutboxOptions from_config(const Config& config);
  // The delay after the `attempts`-th failed publish (BrokerOptions::backoff's policy).
  std::chrono::milliseconds backoff(std::uint32_t attempts) const;
};

// Appends `message` to the outbox inside `tx`, the caller's transaction: it is published
// after the caller commits, and never if it rolls back. Errc::invalid_argument for an event
// that is not a valid CloudEvent or an empty topic, Errc::too_large beyond
// max_message_bytes; SQL errors as the transaction reports them.
Awaitable<Status> append(sql::Transaction& tx, Message message,
                         std::size_t max_message_bytes = 1024 * 1024);

// What one relay pass did.
struct RelayPass {
  std::size_t claimed = 0;
  std::size_t sent = 0;
  std::size_t failed = 0;  // publishes that failed; retried after their backoff
};

// `stoa events outbox status`.
struct OutboxStatus {
  std::uint64_t pending = 0;                // unsent rows
  std::chrono::milliseconds oldest_age{0};  // of the oldest unsent row; 0 when none
  std::uint64_t failing = 0;                // unsent rows whose publish failed at least once
  std::uint64_t max_attempts = 0;           // the most failed attempts of one unsent row
  std::string last_error;                   // of that row
  std::uint64_t claimed = 0;                // unsent rows held under a live lease
  std::uint64_t sent = 0;                   // sent rows not yet pruned
};

class Relay {
 public:
  // `owner` names this relay in the leases it takes (unique per relay: host, pid, a uuid).
  Relay(std::shared_ptr<sql::Database> db, std::shared_ptr<Broker> broker, OutboxOptions options,
        std::string owner);

  const std::string& owner() const { return owner_; }

  // Claims up to batch_size publishable rows, publishes them (aggregates concurrently, each
  // aggregate's rows in order, stopping an aggregate at its first failure), marks the sent
  // ones, and releases the rest. Errors are the database's (the broker's failures are
  // recorded in the rows).
  Awaitable<Result<RelayPass>> run_once();
  // Deletes rows sent longer than sent_ttl ago; returns how many.
  Awaitable<Result<std::uint64_t>> prune();

 private:
  std::shared_ptr<sql::Database> db_;
  std::shared_ptr<Broker> broker_;
  OutboxOptions options_;
  std::string owner_;
};

// Leases and ages as of `clock`'s present.
Awaitable<Result<OutboxStatus>> outbox_status(sql::Database& db,
                                              const Clock& clock = Clock::real());

// Wall-clock Unix milliseconds: the outbox's and the inbox's time (compared across
// processes, so not the steady clock).
std::int64_t unix_millis(const Clock& clock = Clock::real());

}  // namespace stoa::messaging
