// The worker runtime over the embedded broker and SQLite: events appended through the
// outbox, relayed, handled through the inbox; invalid events dead-lettered with the reason
// and other groups' types skipped; failures retried; shutdown finishing the delivery in
// flight; metrics and spans. Also the worker contract (worker_contract.h) on the embedded
// broker.
#include "workers/worker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <future>
#include <thread>

#include "data/sql/migrations.h"
#include "data/sql/sql.h"
#include "messaging/embedded/embedded_broker.h"
#include "messaging/inbox.h"
#include "messaging/outbox.h"
#include "messaging/telemetry.h"
#include "observability/telemetry.h"
#include "runtime/event_loop.h"
#include "runtime/uuid.h"
#include "support/run_sync.h"
#include "support/scratch_dir.h"
#include "workers/worker_contract.h"

namespace stoa::workers {
namespace {

Result<std::shared_ptr<messaging::Broker>> open_embedded_in(const messaging::BrokerOptions& options,
                                                            const std::string& scratch) {
  return messaging::embedded::open_embedded(options, scratch + "/events");
}

using test::WorkerContract;
INSTANTIATE_TEST_SUITE_P(Embedded, WorkerContract,
                         ::testing::Values(test::BrokerBackend{"embedded", open_embedded_in}),
                         [](const auto& info) { return info.param.name; });

using namespace std::chrono_literals;
using messaging::Delivery;
using messaging::Message;

constexpr sql::Query kCreate{
    "test.worker_totals_create",
    "CREATE TABLE IF NOT EXISTS worker_test_totals "
    "(name TEXT PRIMARY KEY, total BIGINT NOT NULL, count BIGINT NOT NULL)"};
constexpr sql::Query kAdd{
    "test.worker_totals_add",
    "INSERT INTO worker_test_totals (name, total, count) VALUES ('sum', $1, 1) "
    "ON CONFLICT (name) DO UPDATE SET total = worker_test_totals.total + "
    "excluded.total, count = worker_test_totals.count + 1"};
constexpr sql::Query kGet{"test.worker_totals_get",
                          "SELECT total, count FROM worker_test_totals WHERE name = 'sum'"};

// The amount in {"amount":N}: the handlers' one piece of parsing.
std::int64_t amount_of(const messaging::Event& event) {
  const auto at = event.data.find(':');
  return std::stoll(event.data.substr(at + 1));
}

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest() : telemetry_(obs::TracerOptions{}, false), thread_([this] { loop_.run(); }) {
    broker_options_.retry_delay = 30ms;
    broker_options_.max_retry_delay = 100ms;
    broker_options_.max_attempts = 3;
    options_.concurrency = 4;
    options_.max_attempts = 3;
    options_.lag_interval = 100ms;
    options_.receive_wait = 50ms;
  }
  ~WorkerTest() override {
    if (worker_) worker_->close();
    worker_.reset();
    if (db_) db_->close();
    if (broker_) broker_->close();
    loop_.stop();
    thread_.join();
  }

  void SetUp() override {
    sql::DatabaseOptions db_options;
    db_options.url = "sqlite://" + scratch_.path() + "/stoa.db";
    db_ = sql::open_database(db_options, loop_, nullptr).value();
    auto set = sql::registered_migrations("messaging");
    ASSERT_TRUE(set);
    ASSERT_TRUE(
        run<Result<std::vector<std::string>>>([&]() -> Awaitable<Result<std::vector<std::string>>> {
          co_return co_await sql::apply_migrations(*db_, *set);
        }));
    ASSERT_TRUE(run<Result<sql::Rows>>(
        [&]() -> Awaitable<Result<sql::Rows>> { co_return co_await db_->execute(kCreate, {}); }));
    auto opened = messaging::embedded::open_embedded(broker_options_, scratch_.path() + "/events");
    ASSERT_TRUE(opened) << opened.error().message;
    broker_ = messaging::instrument(std::move(opened).value(), telemetry_);
  }

  template <class T>
  T run(std::function<Awaitable<T>()> make) {
    return ::stoa::test::run_sync(loop_, std::move(make));
  }

  // A group "ledger" on topic stoa.test: stoa.test.credited.v1 {"amount":N} adds N through
  // the inbox; `before` runs first and may fail the delivery.
  Group ledger(std::function<Awaitable<Status>(const Delivery&)> before = {}) {
    Group group{"ledger", {"stoa.test"}, {}, {}};
    group.types.add("stoa.test.credited.v1", messaging::EventTypes::json_object_with({"amount"}));
    auto db = db_;
    group.handlers["stoa.test.credited.v1"] = [db, before](const Delivery& d) -> Awaitable<Status> {
      if (before) {
        auto go_on = co_await before(d);
        if (!go_on) co_return go_on;
      }
      const std::int64_t amount = amount_of(d.message.event);
      messaging::InboxWork work = [amount](sql::Transaction& tx) -> Awaitable<Status> {
        sql::Params params{amount};
        auto added = co_await tx.execute(kAdd, std::move(params));
        if (!added) co_return added.error();
        co_return Ok{};
      };
      auto done =
          co_await messaging::process_once(*db, d.group, d.message.event.id, std::move(work));
      if (!done) co_return done.error();
      co_return Ok{};
    };
    return group;
  }

  void start(Group group) {
    std::vector<Group> groups;
    groups.push_back(std::move(group));
    worker_ = std::make_unique<Worker>(broker_, options_, std::move(groups), &telemetry_);
    auto declared =
        run<Status>([&]() -> Awaitable<Status> { co_return co_await worker_->declare(); });
    ASSERT_TRUE(declared) << declared.error().message;
    worker_->start(loop_);
  }

  static Message credit(std::int64_t amount, std::string type = "stoa.test.credited.v1") {
    Message m;
    m.topic = "stoa.test";
    m.event.id = Uuid::v7().to_string();
    m.event.source = "/stoa/test";
    m.event.type = std::move(type);
    m.event.subject = "acct-" + std::to_string(amount % 3);
    m.event.data = "{\"amount\":" + std::to_string(amount) + "}";
    m.event.has_data = true;
    return m;
  }

  Status publish(Message m) {
    return run<Status>([&]() -> Awaitable<Status> { co_return co_await broker_->publish(m); });
  }

  std::pair<std::int64_t, std::int64_t> totals() {
    auto rows = run<Result<sql::Rows>>(
        [&]() -> Awaitable<Result<sql::Rows>> { co_return co_await db_->execute(kGet, {}); });
    if (!rows || rows->empty()) return {0, 0};
    return {rows->at(0, 0).integer(), rows->at(0, 1).integer()};
  }

  // Polls `done` until true or a generous deadline.
  static bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = 30s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return done();
  }

  double metric(const std::string& outcome) {
    return telemetry_.metrics()
        .counter("stoa_worker_messages_total", "x",
                 {{"messaging_consumer_group_name", "ledger"}, {"stoa_outcome", outcome}})
        .value();
  }

  std::vector<messaging::DeadLetter> dead_letters() {
    auto letters = run<Result<std::vector<messaging::DeadLetter>>>(
        [&]() -> Awaitable<Result<std::vector<messaging::DeadLetter>>> {
          co_return co_await broker_->dead_letters("ledger", 100);
        });
    return letters ? *letters : std::vector<messaging::DeadLetter>{};
  }

  obs::Telemetry telemetry_;
  EventLoop loop_{2};
  std::thread thread_;
  ::stoa::test::ScratchDir scratch_{"stoa-worker"};
  messaging::BrokerOptions broker_options_;
  WorkerOptions options_;
  std::shared_ptr<sql::Database> db_;
  std::shared_ptr<messaging::Broker> broker_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(WorkerTest, EventsAppendedThroughTheOutboxAreAppliedOnce) {
  start(ledger());
  std::int64_t expected = 0;
  ASSERT_TRUE(run<Status>([&]() -> Awaitable<Status> {
    auto begun = co_await db_->begin();
    if (!begun) co_return begun.error();
    for (int i = 1; i <= 40; ++i) {
      auto m = credit(i);
      expected += i;
      auto appended = co_await messaging::append(**begun, m);
      if (!appended) co_return appended.error();
    }
    auto committed = co_await (*begun)->commit();
    if (!committed) co_return committed.error();
    co_return Ok{};
  }));
  messaging::OutboxOptions outbox;
  messaging::Relay relay(db_, broker_, outbox, "test-relay");
  auto pass = run<Result<messaging::RelayPass>>(
      [&]() -> Awaitable<Result<messaging::RelayPass>> { co_return co_await relay.run_once(); });
  ASSERT_TRUE(pass) << pass.error().message;
  EXPECT_EQ(pass->sent, 40u);
  ASSERT_TRUE(eventually([&] { return totals().second == 40; })) << totals().second;
  EXPECT_EQ(totals().first, expected);
  EXPECT_EQ(metric("processed"), 40);
  // Lag reaches 0 once everything is acked.
  auto lag = telemetry_.metrics().gauge("stoa_worker_consumer_lag_messages", "x",
                                        {{"messaging_consumer_group_name", "ledger"}});
  EXPECT_TRUE(eventually([&] { return lag.value() == 0; }));
  EXPECT_NE(telemetry_.metrics().expose().find("stoa_worker_consumer_lag_messages"),
            std::string::npos);
}

TEST_F(WorkerTest, InvalidEventsAreDeadLetteredWithTheReasonAndOtherTypesSkipped) {
  start(ledger());
  // Another type on the group's topic: not the group's, acked unhandled, not dead-lettered.
  ASSERT_TRUE(publish(credit(1, "stoa.test.unheard_of.v1")));
  auto invalid = credit(2);
  invalid.event.data = "{\"amt\":2}";
  ASSERT_TRUE(publish(invalid));
  ASSERT_TRUE(publish(credit(3)));
  ASSERT_TRUE(eventually([&] { return dead_letters().size() == 1; }));
  ASSERT_TRUE(eventually([&] { return totals().second == 1; }));
  ASSERT_TRUE(eventually([&] { return metric("skipped") == 1; }));
  auto letters = dead_letters();
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_NE(letters[0].reason.find("data.amount is missing"), std::string::npos)
      << letters[0].reason;
  EXPECT_EQ(totals().first, 3);
  EXPECT_EQ(metric("dead_lettered"), 1);
  EXPECT_EQ(metric("processed"), 1);
}

TEST_F(WorkerTest, HandlerFailuresAreRetriedWithBackoffThenDeadLettered) {
  auto calls = std::make_shared<std::map<std::string, int>>();
  auto mutex = std::make_shared<std::mutex>();
  // Amount 1 fails once, amount 2 always; amount 3 is refused as invalid.
  start(ledger([calls, mutex](const Delivery& d) -> Awaitable<Status> {
    int call = 0;
    {
      std::lock_guard lock(*mutex);
      call = ++(*calls)[d.message.event.id];
    }
    const auto amount = amount_of(d.message.event);
    if (amount == 1 && call == 1) co_return Error{Errc::unavailable, "try again"};
    if (amount == 2) co_return Error{Errc::timeout, "always late"};
    if (amount == 3) co_return Error{Errc::invalid_argument, "amount 3 is not allowed"};
    co_return Ok{};
  }));
  ASSERT_TRUE(publish(credit(1)));
  ASSERT_TRUE(publish(credit(2)));
  ASSERT_TRUE(publish(credit(3)));
  ASSERT_TRUE(eventually([&] { return dead_letters().size() == 2 && totals().second == 1; }));
  EXPECT_EQ(totals().first, 1);
  std::string reasons;
  for (const auto& letter : dead_letters()) reasons += letter.reason + "\n";
  // The broker adds how many deliveries failed to the last handler's message.
  EXPECT_NE(reasons.find("failed 3 deliveries; last: always late"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("amount 3 is not allowed"), std::string::npos) << reasons;
  EXPECT_EQ(metric("retried"), 1 + 2);  // amount 1 once; amount 2 on attempts 1 and 2
  EXPECT_EQ(metric("dead_lettered"), 2);
  EXPECT_EQ(metric("processed"), 1);
}

TEST_F(WorkerTest, ShutdownFinishesTheDeliveryInFlight) {
  auto entered = std::make_shared<std::promise<void>>();
  auto entered_future = entered->get_future();
  start(ledger([entered](const Delivery&) -> Awaitable<Status> {
    entered->set_value();
    boost::asio::steady_timer slow(co_await boost::asio::this_coro::executor, 300ms);
    co_await slow.async_wait(boost::asio::use_awaitable);
    co_return Ok{};
  }));
  ASSERT_TRUE(publish(credit(7)));
  ASSERT_EQ(entered_future.wait_for(30s), std::future_status::ready);
  worker_->begin_shutdown();
  EXPECT_GT(worker_->in_flight(), 0u);
  ASSERT_TRUE(eventually([&] { return worker_->in_flight() == 0; }));
  EXPECT_EQ(totals(), std::make_pair(std::int64_t{7}, std::int64_t{1}));
  worker_->close();
  // It was acked, not handed back: the group holds nothing.
  auto groups = run<Result<std::vector<messaging::GroupStatus>>>(
      [&]() -> Awaitable<Result<std::vector<messaging::GroupStatus>>> {
        co_return co_await broker_->groups();
      });
  ASSERT_TRUE(groups);
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ(groups->at(0).lag(), 0u);
}

TEST_F(WorkerTest, TheHandlersSpanIsInTheProducersTrace) {
  start(ledger());
  auto m = credit(5);
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  m.event.traceparent = "00-" + trace_id + "-00f067aa0ba902b7-01";
  ASSERT_TRUE(publish(m));
  ASSERT_TRUE(eventually([&] { return totals().second == 1; }));
  auto id = TraceId::from_hex(trace_id);
  ASSERT_TRUE(id);
  ASSERT_TRUE(eventually([&] {
    for (const auto& span : telemetry_.tracer().trace_spans(*id)) {
      if (span.name == "handle stoa.test.credited.v1") return true;
    }
    return false;
  }));
}

}  // namespace
}  // namespace stoa::workers
