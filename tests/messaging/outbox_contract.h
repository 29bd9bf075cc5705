#pragma once
// The outbox and inbox contract: what they promise on every SQL engine. Include this header
// in exactly one test file of a test binary and instantiate it with the engine's database:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, OutboxContract,
//                            ::testing::Values(OutboxDatabase{"sqlite", open_fn}),
//                            [](const auto& info) { return info.param.name; });
//
// The broker is the embedded one in a scratch directory (the outbox uses the Broker
// interface only). Waits have generous deadlines; nothing asserts how long anything took.
// The relays run on a ManualClock (clock_): leases, backoffs and sent times move only when a
// test advances it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "data/sql/migrations.h"
#include "data/sql/sql.h"
#include "messaging/broker.h"
#include "messaging/embedded/embedded_broker.h"
#include "messaging/inbox.h"
#include "messaging/outbox.h"
#include "runtime/clock.h"
#include "runtime/event_loop.h"
#include "runtime/uuid.h"
#include "support/run_sync.h"
#include "support/scratch_dir.h"

namespace stoa::messaging::test {

using namespace std::chrono_literals;

struct OutboxDatabase {
  std::string name;
  // A new connection (pool) to the engine's test database, or nullopt when the engine's
  // server is not configured (the test then skips, or fails under CI). `scratch` is a
  // directory the test owns. Two calls with one scratch reach the same database.
  std::function<std::optional<sql::DatabaseOptions>(const std::string& scratch)> options;
};

inline void PrintTo(const OutboxDatabase& database, std::ostream* out) {
  *out << database.name;
}

class OutboxContract : public ::testing::TestWithParam<OutboxDatabase> {
 protected:
  OutboxContract() : thread_([this] { loop_.run(); }) {
    broker_options_.retry_delay = 50ms;
    broker_options_.max_retry_delay = 200ms;
    broker_options_.max_attempts = 3;
    outbox_options_.retry_delay = 50ms;
    outbox_options_.max_retry_delay = 200ms;
    outbox_options_.lease_timeout = 10s;
    outbox_options_.clock = &clock_;
  }
  ~OutboxContract() override {
    for (auto& db : databases_) db->close();
    if (broker_) broker_->close();
    databases_.clear();
    broker_.reset();
    loop_.stop();
    thread_.join();
  }

  void SetUp() override {
    auto options = GetParam().options(scratch_.path());
    if (!options) GTEST_SKIP() << GetParam().name << " is not configured";
    options_ = *options;
    db_ = open_database();
    auto set = sql::registered_migrations("messaging");
    ASSERT_TRUE(set) << "the messaging migrations are not embedded";
    auto applied =
        run<Result<std::vector<std::string>>>([&]() -> Awaitable<Result<std::vector<std::string>>> {
          co_return co_await sql::apply_migrations(*db_, *set);
        });
    ASSERT_TRUE(applied) << applied.error().message;
    // A shared server keeps the tables between tests: start each from empty.
    for (sql::Query q : {sql::Query{"test.outbox_clear", "DELETE FROM messaging_outbox"},
                         sql::Query{"test.inbox_clear", "DELETE FROM messaging_inbox"},
                         sql::Query{"test.totals_create",
                                    "CREATE TABLE IF NOT EXISTS outbox_test_totals "
                                    "(name TEXT PRIMARY KEY, total BIGINT NOT NULL)"},
                         sql::Query{"test.totals_clear", "DELETE FROM outbox_test_totals"}}) {
      ASSERT_TRUE(execute(q, {})) << q.name;
    }
    open_broker(broker_options_);
  }

  std::shared_ptr<sql::Database> open_database() {
    auto opened = sql::open_database(options_, loop_, nullptr);
    if (!opened) throw std::runtime_error("cannot open the database: " + opened.error().message);
    databases_.push_back(std::move(opened).value());
    return databases_.back();
  }

  void open_broker(BrokerOptions options) {
    if (broker_) broker_->close();
    broker_.reset();
    auto opened = embedded::open_embedded(options, scratch_.path() + "/events");
    if (!opened) throw std::runtime_error("cannot open the broker: " + opened.error().message);
    broker_ = std::move(opened).value();
    const GroupSpec spec{"outbox-test", {"stoa.test"}};
    ASSERT_TRUE(run<Status>(
        [&]() -> Awaitable<Status> { co_return co_await broker_->declare_group(spec); }));
  }

  Relay relay(std::shared_ptr<sql::Database> db = {}) {
    return Relay(db ? db : db_, broker_, outbox_options_, "relay-" + Uuid::v7().to_string());
  }

  // Runs a coroutine on the loop's thread and waits for it.
  template <class T>
  T run(std::function<Awaitable<T>()> make) {
    return ::stoa::test::run_sync(loop_, std::move(make));
  }

  Result<sql::Rows> execute(sql::Query query, sql::Params params) {
    return run<Result<sql::Rows>>(
        [&]() -> Awaitable<Result<sql::Rows>> { co_return co_await db_->execute(query, params); });
  }

  static Message message(std::string subject, int n, std::string data = {}) {
    Message m;
    m.topic = "stoa.test";
    m.event.id = Uuid::v7().to_string();
    m.event.source = "/stoa/test";
    m.event.type = "stoa.test.counted.v1";
    m.event.subject = std::move(subject);
    m.event.data = data.empty() ? "{\"n\":" + std::to_string(n) + "}" : std::move(data);
    m.event.has_data = true;
    return m;
  }

  // Appends the messages in one transaction, committed or rolled back.
  Status append_all(std::vector<Message> messages, bool commit = true) {
    return run<Status>([&]() -> Awaitable<Status> {
      auto begun = co_await db_->begin();
      if (!begun) co_return begun.error();
      for (auto& m : messages) {
        auto appended = co_await append(**begun, m);
        if (!appended) co_return appended.error();
      }
      if (!commit) co_return co_await (*begun)->rollback();
      auto committed = co_await (*begun)->commit();
      if (!committed) co_return committed.error();
      co_return Ok{};
    });
  }

  RelayPass pass(Relay& r) {
    auto done = run<Result<RelayPass>>(
        [&]() -> Awaitable<Result<RelayPass>> { co_return co_await r.run_once(); });
    if (!done) throw std::runtime_error("relay pass: " + done.error().message);
    return *done;
  }

  OutboxStatus status() {
    auto s = run<Result<OutboxStatus>>([&]() -> Awaitable<Result<OutboxStatus>> {
      co_return co_await outbox_status(*db_, clock_);
    });
    if (!s) throw std::runtime_error("status: " + s.error().message);
    return *s;
  }

  // Every message the test group holds, in delivery order, acked.
  std::vector<Message> drain(std::size_t expected) {
    const ConsumerOptions options{"outbox-test", 1};
    auto consumer = run<Result<std::unique_ptr<Consumer>>>(
        [&]() -> Awaitable<Result<std::unique_ptr<Consumer>>> {
          co_return co_await broker_->subscribe(options);
        });
    if (!consumer) throw std::runtime_error("subscribe: " + consumer.error().message);
    std::vector<Message> out;
    while (out.size() < expected) {
      auto d = run<Result<Delivery>>(
          [&]() -> Awaitable<Result<Delivery>> { co_return co_await (*consumer)->receive(5s); });
      if (!d) break;
      out.push_back(d->message);
      EXPECT_TRUE(
          run<Status>([&]() -> Awaitable<Status> { co_return co_await (*consumer)->ack(*d); }));
    }
    // Nothing more than expected arrives.
    auto extra = run<Result<Delivery>>(
        [&]() -> Awaitable<Result<Delivery>> { co_return co_await (*consumer)->receive(200ms); });
    EXPECT_FALSE(extra) << "an extra delivery: " << extra->message.event.id;
    (*consumer)->close();
    return out;
  }

  ManualClock clock_;  // first: the relays and the loop's coroutines read it until the end
  EventLoop loop_{2};
  std::thread thread_;
  ::stoa::test::ScratchDir scratch_{"stoa-outbox"};
  sql::DatabaseOptions options_;
  BrokerOptions broker_options_;
  OutboxOptions outbox_options_;
  std::vector<std::shared_ptr<sql::Database>> databases_;
  std::shared_ptr<sql::Database> db_;
  std::shared_ptr<Broker> broker_;
};

TEST_P(OutboxContract, ACommittedAppendIsPublishedOnceAndMarkedSent) {
  auto first = message("order-1", 1);
  ASSERT_TRUE(append_all({first}));
  EXPECT_EQ(status().pending, 1u);
  auto r = relay();
  auto done = pass(r);
  EXPECT_EQ(done.claimed, 1u);
  EXPECT_EQ(done.sent, 1u);
  EXPECT_EQ(pass(r).claimed, 0u) << "a sent row was claimed again";
  auto s = status();
  EXPECT_EQ(s.pending, 0u);
  EXPECT_EQ(s.sent, 1u);
  auto got = drain(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "stoa.test");
  EXPECT_EQ(got[0].event, first.event);  // every attribute and the data, unchanged
}

TEST_P(OutboxContract, ARolledBackAppendIsNeverPublished) {
  ASSERT_TRUE(append_all({message("order-1", 1), message("order-2", 2)}, /*commit=*/false));
  EXPECT_EQ(status().pending, 0u);
  auto r = relay();
  EXPECT_EQ(pass(r).claimed, 0u);
  EXPECT_TRUE(drain(0).empty());
}

TEST_P(OutboxContract, AppendRefusesWhatTheBrokerWouldRefuse) {
  auto no_id = message("a", 1);
  no_id.event.id.clear();
  auto refused = append_all({no_id});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_argument);
  auto no_topic = message("a", 1);
  no_topic.topic.clear();
  EXPECT_EQ(append_all({no_topic}).error().code, Errc::invalid_argument);
  auto not_json = message("a", 1, "{not json");
  EXPECT_EQ(append_all({not_json}).error().code, Errc::invalid_argument);
  auto huge = message("a", 1, "\"" + std::string(2 * 1024 * 1024, 'x') + "\"");
  EXPECT_EQ(append_all({huge}).error().code, Errc::too_large);
  EXPECT_EQ(status().pending, 0u) << "a refused append left a row";
}

// The broker refuses A1 (too large for it): A1 is kept and retried with backoff, A2 waits
// behind it, B1 of another aggregate goes. Once the broker takes A1, A1 then A2 follow.
TEST_P(OutboxContract, AFailedPublishIsRetriedAndHoldsBackOnlyItsAggregate) {
  auto small_broker = broker_options_;
  small_broker.max_message_bytes = 2048;
  small_broker.segment_bytes = 1024 * 1024;
  open_broker(small_broker);
  auto a1 = message("A", 1, "{\"pad\":\"" + std::string(3000, 'p') + "\"}");
  auto a2 = message("A", 2);
  auto b1 = message("B", 1);
  ASSERT_TRUE(append_all({a1, a2, b1}));
  {
    auto r = relay();
    auto first = pass(r);
    EXPECT_EQ(first.claimed, 3u);
    EXPECT_EQ(first.sent, 1u);
    EXPECT_EQ(first.failed, 1u);
    auto s = status();
    EXPECT_EQ(s.pending, 2u);
    EXPECT_EQ(s.failing, 1u);
    EXPECT_EQ(s.max_attempts, 1u);
    EXPECT_NE(s.last_error.find("too_large"), std::string::npos) << s.last_error;
    // Still refused after its backoff: attempts count up, nothing is dropped.
    clock_.advance(100ms);
    auto second = pass(r);
    EXPECT_EQ(second.failed, 1u);
    EXPECT_EQ(second.sent, 0u);
    EXPECT_EQ(status().max_attempts, 2u);
    EXPECT_EQ(status().pending, 2u);
  }
  open_broker(broker_options_);  // the broker takes large messages again
  clock_.advance(250ms);         // past the backoff (at most max_retry_delay)
  auto r = relay();
  auto third = pass(r);
  EXPECT_EQ(third.sent, 2u);
  EXPECT_EQ(status().pending, 0u);
  auto got = drain(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].event.id, b1.event.id);
  EXPECT_EQ(got[1].event.id, a1.event.id);
  EXPECT_EQ(got[2].event.id, a2.event.id);
}

// Two relays, each with its own connection (as two processes), publish one backlog
// concurrently: each event exactly once, each aggregate in order.
TEST_P(OutboxContract, TwoRelaysPublishEachEventOnceInAggregateOrder) {
  constexpr int kAggregates = 8, kPerAggregate = 25;
  outbox_options_.batch_size = 16;
  std::map<std::string, int> sequence_of;  // event id -> n
  std::vector<Message> all;
  for (int n = 0; n < kPerAggregate; ++n) {
    std::vector<Message> tx;
    for (int a = 0; a < kAggregates; ++a) {
      tx.push_back(message("acct-" + std::to_string(a), n));
      sequence_of[tx.back().event.id] = n;
    }
    ASSERT_TRUE(append_all(tx));
  }
  auto r1 = relay(open_database());
  auto r2 = relay(open_database());
  auto drive = [this](Relay& r) {
    return [this, &r]() -> Awaitable<Status> {
      auto executor = co_await boost::asio::this_coro::executor;
      for (int idle = 0; idle < 20;) {
        auto done = co_await r.run_once();
        if (!done) co_return done.error();
        idle = done->claimed == 0 ? idle + 1 : 0;
        boost::asio::steady_timer pause(executor, 2ms);
        co_await pause.async_wait(boost::asio::use_awaitable);
      }
      co_return Ok{};
    };
  };
  auto first = drive(r1);
  auto second = drive(r2);
  auto f1 = ::stoa::test::spawn_future(loop_.context(0), std::move(first));
  auto f2 = ::stoa::test::spawn_future(loop_.context(1), std::move(second));
  ASSERT_EQ(f1.wait_for(120s), std::future_status::ready);
  ASSERT_EQ(f2.wait_for(120s), std::future_status::ready);
  auto s1 = f1.get();
  auto s2 = f2.get();
  ASSERT_TRUE(s1) << s1.error().message;
  ASSERT_TRUE(s2) << s2.error().message;
  EXPECT_EQ(status().pending, 0u);

  auto got = drain(kAggregates * kPerAggregate);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kAggregates * kPerAggregate));
  std::set<std::string> seen;
  std::map<std::string, int> last;
  for (const auto& m : got) {
    EXPECT_TRUE(seen.insert(m.event.id).second) << "published twice: " << m.event.id;
    const int n = sequence_of.at(m.event.id);
    auto it = last.find(m.event.subject);
    if (it != last.end()) {
      EXPECT_LT(it->second, n) << "out of order in " << m.event.subject;
    }
    last[m.event.subject] = n;
  }
}

// A relay that died holding a lease leaves its rows claimed: nobody publishes them until
// the lease expires, then another relay does.
TEST_P(OutboxContract, ALeaseOfADeadRelayDelaysItsRowsUntilItExpires) {
  ASSERT_TRUE(append_all({message("A", 1), message("A", 2), message("B", 1)}));
  const std::int64_t expires = unix_millis(clock_) + 600;
  ASSERT_TRUE(execute({"test.outbox_dead_claim",
                       "UPDATE messaging_outbox SET claimed_by = 'dead', claim_expires_at = $1 "
                       "WHERE event_id IN (SELECT event_id FROM messaging_outbox "
                       "WHERE aggregate = 'stoa.test/A' ORDER BY id LIMIT 1)"},
                      {expires}));
  auto r = relay();
  auto during = pass(r);
  EXPECT_EQ(during.sent, 1u) << "only B1: A1 is leased, A2 waits behind it";
  EXPECT_EQ(status().claimed, 1u);
  clock_.advance(599ms);
  EXPECT_EQ(pass(r).sent, 0u) << "the lease has not expired yet";
  clock_.advance(1ms);
  auto after = pass(r);
  EXPECT_EQ(after.sent, 2u);
  EXPECT_EQ(status().pending, 0u);
}

TEST_P(OutboxContract, PruneDeletesSentRowsPastTheirTtlOnly) {
  ASSERT_TRUE(append_all({message("A", 1), message("B", 1)}));
  outbox_options_.sent_ttl = 1ms;
  auto r = relay();
  EXPECT_EQ(pass(r).sent, 2u);
  ASSERT_TRUE(append_all({message("C", 1)}));  // unsent: never pruned
  clock_.advance(20ms);
  auto pruned = run<Result<std::uint64_t>>(
      [&]() -> Awaitable<Result<std::uint64_t>> { co_return co_await r.prune(); });
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_EQ(*pruned, 2u);
  auto s = status();
  EXPECT_EQ(s.pending, 1u);
  EXPECT_EQ(s.sent, 0u);
}

// ---- inbox -------------------------------------------------------------------------------

inline constexpr sql::Query kAdd{"test.totals_add",
                                 "INSERT INTO outbox_test_totals (name, total) VALUES ($1, $2) "
                                 "ON CONFLICT (name) DO UPDATE SET total = "
                                 "outbox_test_totals.total + excluded.total"};

TEST_P(OutboxContract, InboxAppliesAnEventsEffectOnceAndAFailureNotAtAll) {
  auto apply = [&](std::string group, std::string id, std::int64_t amount,
                   bool fail) -> Result<Processed> {
    return run<Result<Processed>>([&]() -> Awaitable<Result<Processed>> {
      InboxWork work = [&](sql::Transaction& tx) -> Awaitable<Status> {
        sql::Params params{"sum", amount};
        auto added = co_await tx.execute(kAdd, std::move(params));
        if (!added) co_return added.error();
        if (fail) co_return Error{Errc::unavailable, "the handler failed after writing"};
        co_return Ok{};
      };
      co_return co_await process_once(*db_, group, id, std::move(work));
    });
  };
  auto total = [&]() -> std::int64_t {
    auto rows = execute({"test.totals_get", "SELECT total FROM outbox_test_totals WHERE name = $1"},
                        {"sum"});
    return rows && !rows->empty() ? rows->at(0, 0).integer() : 0;
  };
  const std::string id = Uuid::v7().to_string();
  auto failed = apply("g1", id, 5, /*fail=*/true);
  ASSERT_FALSE(failed);
  EXPECT_EQ(total(), 0) << "a failed handler's write was kept";
  EXPECT_EQ(apply("g1", id, 5, false).value(), Processed::now);
  EXPECT_EQ(apply("g1", id, 5, false).value(), Processed::before);
  EXPECT_EQ(total(), 5);
  EXPECT_EQ(apply("g2", id, 5, false).value(), Processed::now) << "groups are independent";
  EXPECT_EQ(total(), 10);

  // Eight deliveries of one event at once, over two connections: one applies it.
  open_database();
  const std::string concurrent = Uuid::v7().to_string();
  std::vector<std::future<Result<Processed>>> futures;
  for (int i = 0; i < 8; ++i) {
    auto db = i % 2 ? databases_.back() : db_;
    auto task = [db, concurrent]() -> Awaitable<Result<Processed>> {
      InboxWork work = [](sql::Transaction& tx) -> Awaitable<Status> {
        sql::Params params{"sum", 1};
        auto added = co_await tx.execute(kAdd, std::move(params));
        if (!added) co_return added.error();
        co_return Ok{};
      };
      co_return co_await process_once(*db, "g1", concurrent, std::move(work));
    };
    futures.push_back(::stoa::test::spawn_future(loop_.context(i % 2), std::move(task)));
  }
  int now = 0;
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
    auto r = f.get();
    ASSERT_TRUE(r) << r.error().message;
    now += *r == Processed::now;
  }
  EXPECT_EQ(now, 1);
  EXPECT_EQ(total(), 11);

  ManualClock later;  // the records were made on the real clock: later than all of them
  later.advance(1min);
  auto pruned = run<Result<std::uint64_t>>([&]() -> Awaitable<Result<std::uint64_t>> {
    co_return co_await prune_inbox(*db_, std::chrono::milliseconds(0), later);
  });
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_EQ(*pruned, 3u);
}

}  // namespace stoa::messaging::test
