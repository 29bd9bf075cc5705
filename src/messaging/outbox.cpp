#include "messaging/outbox.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>

#include "data/sql/sql.h"
#include "messaging/cloudevents.h"
#include "runtime/config.h"

namespace stoa::messaging {

namespace asio = boost::asio;

namespace {

constexpr sql::Query kInsert{
    "messaging.outbox_append",
    "INSERT INTO messaging_outbox (aggregate, topic, event_id, envelope, created_at) "
    "VALUES ($1, $2, $3, $4, $5)"};

// PostgreSQL: claims are serialized across relays, so that two relays never hold rows of
// one aggregate at once (each would see the other's earlier rows as unclaimed). SQLite's
// write transaction already serializes them.
constexpr sql::Query kClaimLock{"messaging.outbox_claim_lock",
                                "SELECT pg_advisory_xact_lock(1398034242)"};

// A row is claimable when it is unsent, due, not under a live lease, and no earlier unsent
// row of its aggregate is in backoff or held by a live lease. Rows are taken in id order,
// so an earlier claimable row of an aggregate is taken whenever a later one is.
constexpr sql::Query kClaim{
    "messaging.outbox_claim",
    "UPDATE messaging_outbox SET claimed_by = $1, claim_expires_at = $2 "
    "WHERE id IN (SELECT o.id FROM messaging_outbox o "
    "WHERE o.sent_at IS NULL AND o.next_attempt_at <= $3 "
    "AND (o.claim_expires_at IS NULL OR o.claim_expires_at <= $3) "
    "AND NOT EXISTS (SELECT 1 FROM messaging_outbox e WHERE e.aggregate = o.aggregate "
    "AND e.id < o.id AND e.sent_at IS NULL "
    "AND (e.next_attempt_at > $3 OR e.claim_expires_at > $3)) "
    "ORDER BY o.id LIMIT $4) "
    "RETURNING id, aggregate, topic, envelope, attempts"};

constexpr sql::Query kMarkSent{"messaging.outbox_mark_sent",
                               "UPDATE messaging_outbox SET sent_at = $1, claimed_by = NULL, "
                               "claim_expires_at = NULL WHERE id = $2 AND sent_at IS NULL"};

constexpr sql::Query kMarkFailed{
    "messaging.outbox_mark_failed",
    "UPDATE messaging_outbox SET attempts = attempts + 1, next_attempt_at = $1, "
    "last_error = $2, claimed_by = NULL, claim_expires_at = NULL "
    "WHERE id = $3 AND claimed_by = $4 AND sent_at IS NULL"};

constexpr sql::Query kRelease{"messaging.outbox_release",
                              "UPDATE messaging_outbox SET claimed_by = NULL, "
                              "claim_expires_at = NULL "
                              "WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL"};

// Bounded, so that pruning a large backlog never holds the writer for long.
constexpr sql::Query kPrune{
    "messaging.outbox_prune",
    "DELETE FROM messaging_outbox WHERE id IN (SELECT id FROM messaging_outbox "
    "WHERE sent_at IS NOT NULL AND sent_at < $1 ORDER BY id LIMIT $2)"};
constexpr std::int64_t kPruneChunk = 5000;

constexpr sql::Query kStatus{"messaging.outbox_status",
                             "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest, "
                             "SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) AS failing, "
                             "MAX(attempts) AS max_attempts, "
                             "SUM(CASE WHEN claim_expires_at > $1 THEN 1 ELSE 0 END) AS claimed "
                             "FROM messaging_outbox WHERE sent_at IS NULL"};
constexpr sql::Query kWorstError{"messaging.outbox_worst_error",
                                 "SELECT last_error FROM messaging_outbox "
                                 "WHERE sent_at IS NULL AND attempts > 0 "
                                 "ORDER BY attempts DESC, id LIMIT 1"};
constexpr sql::Query kSentCount{"messaging.outbox_sent_count",
                                "SELECT COUNT(*) AS sent FROM messaging_outbox "
                                "WHERE sent_at IS NOT NULL"};

struct Row {
  std::int64_t id = 0;
  std::string topic;
  std::string envelope;
  std::uint32_t attempts = 0;
};

// One row's fate in a pass.
struct Outcome {
  std::int64_t id = 0;
  enum { sent, failed, untried } what = untried;
  std::uint32_t attempts = 0;
  std::string error;
};

std::int64_t count_or_zero(const sql::Value& value) {
  return value.optional_integer().value_or(0);
}

// Publishes one aggregate's rows in order, stopping at the first failure: the rows after it
// stay unsent, so no later event overtakes an earlier one.
Awaitable<std::vector<Outcome>> publish_in_order(std::shared_ptr<Broker> broker,
                                                 std::vector<Row> rows,
                                                 std::size_t max_message_bytes) {
  std::vector<Outcome> outcomes;
  bool stopped = false;
  for (auto& row : rows) {
    Outcome outcome{row.id, Outcome::untried, row.attempts, {}};
    if (!stopped) {
      cloudevents::Limits limits;
      limits.max_bytes = max_message_bytes;
      auto event = cloudevents::decode(row.envelope, limits);
      if (!event) {
        outcome.what = Outcome::failed;
        outcome.error = "the stored envelope does not decode: " + event.error().message;
      } else {
        Message message{std::move(row.topic), std::move(event).value()};
        auto published = co_await broker->publish(std::move(message));
        if (published) {
          outcome.what = Outcome::sent;
        } else {
          outcome.what = Outcome::failed;
          outcome.error =
              std::string(to_string(published.error().code)) + ": " + published.error().message;
        }
      }
      stopped = outcome.what == Outcome::failed;
    }
    outcomes.push_back(std::move(outcome));
  }
  co_return outcomes;
}

// The claimed rows by aggregate, each aggregate's rows in id order.
using Claimed = std::map<std::string, std::vector<Row>>;

Awaitable<Result<Claimed>> claim(sql::Database& db, const OutboxOptions& options,
                                 const std::string& owner) {
  auto begun = co_await db.begin();
  if (!begun) co_return begun.error();
  auto& tx = **begun;
  if (db.dialect() == sql::Dialect::postgresql) {
    auto locked = co_await tx.execute(kClaimLock, {});
    if (!locked) co_return locked.error();
  }
  const std::int64_t now = unix_millis(*options.clock);
  sql::Params params{owner, now + options.lease_timeout.count(), now,
                     static_cast<std::int64_t>(options.batch_size)};
  auto claimed = co_await tx.execute(kClaim, std::move(params));
  if (!claimed) co_return claimed.error();
  auto committed = co_await tx.commit();
  if (!committed) co_return committed.error();
  Claimed by_aggregate;
  for (std::size_t i = 0; i < claimed->size(); ++i) {
    by_aggregate[claimed->at(i, "aggregate").text()].push_back(
        Row{claimed->at(i, "id").integer(), claimed->at(i, "topic").text(),
            claimed->at(i, "envelope").text(),
            static_cast<std::uint32_t>(claimed->at(i, "attempts").integer())});
  }
  // RETURNING promises no order; the relay's order is the id's.
  for (auto& [aggregate, rows] : by_aggregate) {
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
  }
  co_return by_aggregate;
}

}  // namespace

std::int64_t unix_millis(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             clock.system_now().time_since_epoch())
      .count();
}

OutboxOptions OutboxOptions::from_config(const Config& config) {
  OutboxOptions options;
  options.poll_interval = config.duration("outbox.poll_interval");
  options.batch_size = static_cast<std::size_t>(config.integer_in("outbox.batch_size", 1, 10000));
  options.lease_timeout = config.duration("outbox.lease_timeout");
  options.sent_ttl = config.duration("outbox.sent_ttl");
  options.prune_interval = config.duration("outbox.prune_interval");
  options.retry_delay = config.duration("broker.retry_delay");
  options.max_retry_delay = config.duration("broker.max_retry_delay");
  options.max_message_bytes = config.bytes("broker.max_message_bytes");
  if (options.poll_interval < std::chrono::milliseconds(1)) {
    throw std::invalid_argument("outbox.poll_interval must be at least 1ms");
  }
  if (options.lease_timeout < std::chrono::milliseconds(100)) {
    throw std::invalid_argument("outbox.lease_timeout must be at least 100ms");
  }
  if (options.prune_interval < std::chrono::milliseconds(1)) {
    throw std::invalid_argument("outbox.prune_interval must be at least 1ms");
  }
  return options;
}

std::chrono::milliseconds OutboxOptions::backoff(std::uint32_t attempts) const {
  BrokerOptions policy;
  policy.retry_delay = retry_delay;
  policy.max_retry_delay = max_retry_delay;
  return policy.backoff(attempts);
}

Awaitable<Status> append(sql::Transaction& tx, Message message, std::size_t max_message_bytes) {
  if (message.topic.empty()) {
    co_return Error{Errc::invalid_argument, "an outbox message needs a topic"};
  }
  cloudevents::Limits limits;
  limits.max_bytes = max_message_bytes;
  auto envelope = cloudevents::encode(message.event, limits);
  if (!envelope) co_return envelope.error();
  std::string aggregate =
      message.topic + "/" +
      (message.event.subject.empty() ? "#" + message.event.id : message.event.subject);
  sql::Params params{std::move(aggregate), message.topic, message.event.id,
                     std::move(envelope).value(), unix_millis()};
  auto inserted = co_await tx.execute(kInsert, std::move(params));
  if (!inserted) co_return inserted.error();
  co_return Ok{};
}

Relay::Relay(std::shared_ptr<sql::Database> db, std::shared_ptr<Broker> broker,
             OutboxOptions options, std::string owner)
    : db_(std::move(db)),
      broker_(std::move(broker)),
      options_(std::move(options)),
      owner_(std::move(owner)) {}

Awaitable<Result<RelayPass>> Relay::run_once() {
  auto claimed = co_await claim(*db_, options_, owner_);
  if (!claimed) co_return claimed.error();
  RelayPass pass;
  if (claimed->empty()) co_return pass;

  // Aggregates are published concurrently (the broker's group commit shares their syncs);
  // each aggregate's rows one after the other.
  auto executor = co_await asio::this_coro::executor;
  using Operation = decltype(asio::co_spawn(
      executor, publish_in_order(broker_, {}, options_.max_message_bytes), asio::deferred));
  std::vector<Operation> operations;
  operations.reserve(claimed->size());
  for (auto& entry : *claimed) {
    pass.claimed += entry.second.size();
    operations.push_back(asio::co_spawn(
        executor, publish_in_order(broker_, std::move(entry.second), options_.max_message_bytes),
        asio::deferred));
  }
  auto [order, exceptions, results] =
      co_await asio::experimental::make_parallel_group(std::move(operations))
          .async_wait(asio::experimental::wait_for_all(), asio::deferred);
  (void)order;
  for (auto& exception : exceptions) {
    if (exception) std::rethrow_exception(exception);
  }

  // What happened goes back to the table in one transaction. Should it fail, the leases
  // expire and the rows are published again: at least once.
  std::vector<std::pair<sql::Query, sql::Params>> updates;
  const std::int64_t now = unix_millis(*options_.clock);
  for (auto& outcomes : results) {
    for (auto& outcome : outcomes) {
      if (outcome.what == Outcome::sent) {
        ++pass.sent;
        updates.emplace_back(kMarkSent, sql::Params{now, outcome.id});
      } else if (outcome.what == Outcome::failed) {
        ++pass.failed;
        const auto delay = options_.backoff(outcome.attempts + 1);
        updates.emplace_back(kMarkFailed,
                             sql::Params{now + delay.count(), outcome.error, outcome.id, owner_});
      } else {
        updates.emplace_back(kRelease, sql::Params{outcome.id, owner_});
      }
    }
  }
  auto written = co_await db_->batch(std::move(updates));
  if (!written) co_return written.error();
  co_return pass;
}

Awaitable<Result<std::uint64_t>> Relay::prune() {
  std::uint64_t total = 0;
  const std::int64_t before = unix_millis(*options_.clock) - options_.sent_ttl.count();
  for (;;) {
    sql::Params params{before, kPruneChunk};
    auto deleted = co_await db_->execute(kPrune, std::move(params));
    if (!deleted) co_return deleted.error();
    total += deleted->affected();
    if (deleted->affected() < static_cast<std::uint64_t>(kPruneChunk)) break;
  }
  co_return total;
}

Awaitable<Result<OutboxStatus>> outbox_status(sql::Database& db, const Clock& clock) {
  OutboxStatus status;
  const std::int64_t now = unix_millis(clock);
  sql::Params at_now{now};
  auto counts = co_await db.execute(kStatus, std::move(at_now));
  if (!counts) co_return counts.error();
  status.pending = static_cast<std::uint64_t>(count_or_zero(counts->at(0, "pending")));
  if (auto oldest = counts->at(0, "oldest").optional_integer()) {
    status.oldest_age = std::chrono::milliseconds(std::max<std::int64_t>(0, now - *oldest));
  }
  status.failing = static_cast<std::uint64_t>(count_or_zero(counts->at(0, "failing")));
  status.max_attempts = static_cast<std::uint64_t>(count_or_zero(counts->at(0, "max_attempts")));
  status.claimed = static_cast<std::uint64_t>(count_or_zero(counts->at(0, "claimed")));
  if (status.failing > 0) {
    auto worst = co_await db.execute(kWorstError, {});
    if (!worst) co_return worst.error();
    if (!worst->empty()) status.last_error = worst->at(0, 0).optional_text().value_or("");
  }
  auto sent = co_await db.execute(kSentCount, {});
  if (!sent) co_return sent.error();
  status.sent = static_cast<std::uint64_t>(count_or_zero(sent->at(0, "sent")));
  co_return status;
}

}  // namespace stoa::messaging
