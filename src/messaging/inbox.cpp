#include "messaging/inbox.h"

#include "data/sql/sql.h"
#include "messaging/outbox.h"

namespace stoa::messaging {

namespace {

// ON CONFLICT DO NOTHING (both dialects): a duplicate leaves the transaction usable and
// reports 0 rows, where a unique violation would abort it on PostgreSQL.
constexpr sql::Query kRecord{"messaging.inbox_record",
                             "INSERT INTO messaging_inbox (consumer_group, event_id, processed_at) "
                             "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"};

constexpr sql::Query kPrune{
    "messaging.inbox_prune",
    "DELETE FROM messaging_inbox WHERE (consumer_group, event_id) IN "
    "(SELECT consumer_group, event_id FROM messaging_inbox WHERE processed_at < $1 LIMIT $2)"};
constexpr std::int64_t kPruneChunk = 5000;

}  // namespace

Awaitable<Result<bool>> record_processed(sql::Transaction& tx, std::string group,
                                         std::string event_id) {
  if (group.empty() || event_id.empty()) {
    co_return Error{Errc::invalid_argument, "the inbox needs a consumer group and an event id"};
  }
  sql::Params params{std::move(group), std::move(event_id), unix_millis()};
  auto inserted = co_await tx.execute(kRecord, std::move(params));
  if (!inserted) co_return inserted.error();
  co_return inserted->affected() == 1;
}

Awaitable<Result<Processed>> process_once(sql::Database& db, std::string group,
                                          std::string event_id, InboxWork work) {
  auto begun = co_await db.begin();
  if (!begun) co_return begun.error();
  auto& tx = **begun;
  auto fresh = co_await record_processed(tx, std::move(group), std::move(event_id));
  if (!fresh) co_return fresh.error();
  if (!*fresh) {
    auto rolled_back = co_await tx.rollback();
    (void)rolled_back;  // nothing was written
    co_return Processed::before;
  }
  auto done = co_await work(tx);
  if (!done) co_return done.error();  // the transaction rolls back as it goes
  auto committed = co_await tx.commit();
  if (!committed) co_return committed.error();
  co_return Processed::now;
}

Awaitable<Result<std::uint64_t>> prune_inbox(sql::Database& db, std::chrono::milliseconds ttl,
                                             const Clock& clock) {
  std::uint64_t total = 0;
  const std::int64_t before = unix_millis(clock) - ttl.count();
  for (;;) {
    sql::Params params{before, kPruneChunk};
    auto deleted = co_await db.execute(kPrune, std::move(params));
    if (!deleted) co_return deleted.error();
    total += deleted->affected();
    if (deleted->affected() < static_cast<std::uint64_t>(kPruneChunk)) break;
  }
  co_return total;
}

}  // namespace stoa::messaging
