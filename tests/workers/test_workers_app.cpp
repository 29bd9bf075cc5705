// stoa_test_workers: the stoa binary plus one test-only handler, for the system tests that
// need a worker with a handler to kill (outbox_crash_systest.cpp). Production handlers
// register from their service's folder the same way; this one lives in tests/ so that the
// real binary never carries it.
//
// Group "crash-ledger" on topic "stoa.test" handles stoa.test.credited.v1 {"amount":N}: it
// records the event in crash_ledger (no uniqueness there, so a double application would
// show) and adds N to crash_totals, through the inbox in one transaction.
#include "app/cli.h"
#include "data/sql/sql.h"
#include "messaging/inbox.h"
#include "runtime/component.h"
#include "runtime/run_before_loop.h"
#include "workers/handlers.h"

namespace {

using namespace stoa;

constexpr sql::Query kCreateLedger{"crash.create_ledger",
                                   "CREATE TABLE IF NOT EXISTS crash_ledger "
                                   "(event_id TEXT NOT NULL, amount BIGINT NOT NULL)"};
constexpr sql::Query kCreateTotals{"crash.create_totals",
                                   "CREATE TABLE IF NOT EXISTS crash_totals "
                                   "(name TEXT PRIMARY KEY, total BIGINT NOT NULL, "
                                   "applied BIGINT NOT NULL)"};
constexpr sql::Query kLedger{"crash.ledger",
                             "INSERT INTO crash_ledger (event_id, amount) VALUES ($1, $2)"};
constexpr sql::Query kTotal{"crash.total",
                            "INSERT INTO crash_totals (name, total, applied) VALUES ('sum', $1, 1) "
                            "ON CONFLICT (name) DO UPDATE SET total = crash_totals.total + "
                            "excluded.total, applied = crash_totals.applied + 1"};

Awaitable<Status> apply(sql::Transaction& tx, std::string event_id, std::int64_t amount) {
  sql::Params ledger{std::move(event_id), amount};
  auto recorded = co_await tx.execute(kLedger, std::move(ledger));
  if (!recorded) co_return recorded.error();
  sql::Params total{amount};
  auto added = co_await tx.execute(kTotal, std::move(total));
  if (!added) co_return added.error();
  co_return Ok{};
}

workers::Handler make_ledger(ComponentHost& host) {
  auto db = sql::database(host);
  run_before_loop(host.loop(), [db]() -> Awaitable<void> {
    auto ledger = co_await db->execute(kCreateLedger, {});
    auto totals = co_await db->execute(kCreateTotals, {});
    if (!ledger || !totals) throw std::runtime_error("crash-ledger: cannot create its tables");
  });
  return [db](const messaging::Delivery& delivery) -> Awaitable<Status> {
    const auto& data = delivery.message.event.data;
    const std::int64_t amount = std::stoll(data.substr(data.find(':') + 1));
    std::string id = delivery.message.event.id;
    messaging::InboxWork work = [id, amount](sql::Transaction& tx) -> Awaitable<Status> {
      co_return co_await apply(tx, id, amount);
    };
    auto done = co_await messaging::process_once(*db, delivery.group, id, std::move(work));
    if (!done) co_return done.error();
    co_return Ok{};
  };
}

[[maybe_unused]] const bool registered = workers::register_handler({
    .group = "crash-ledger",
    .topic = "stoa.test",
    .type = "stoa.test.credited.v1",
    .validator = messaging::EventTypes::json_object_with({"amount"}),
    .make = make_ledger,
});

}  // namespace

int main(int argc, char** argv) {
  return stoa::app::run_cli(argc, argv);
}
