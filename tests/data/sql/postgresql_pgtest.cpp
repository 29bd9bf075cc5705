// The PostgreSQL driver against a real primary and streaming replica (scripts/test-servers):
// values, errors, timeouts, cancellation, batches, transactions and the pool.
#include <unistd.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "data/sql/pg_fixture.h"

namespace stoa::sql::test {
namespace {

namespace asio = boost::asio;

TEST_F(PgTest, RoundTripsEveryValueType) {
  auto db = open(options());
  EXPECT_EQ(db->dialect(), Dialect::postgresql);
  const std::string t = table("types");
  const std::string create = "CREATE TABLE " + t +
                             " (i bigint, r double precision, b boolean, s text, "
                             "y bytea, n numeric, small smallint)";
  const std::string insert = "INSERT INTO " + t + " VALUES ($1, $2, $3, $4, $5, $6, $7)";
  const std::string select = "SELECT i, r, b, s, y, n, small FROM " + t + " ORDER BY i NULLS LAST";
  must(*db, {"test.create", create});
  const std::string bytes("\0\x01\xff'\\x", 6);
  auto inserted = must(*db, {"test.insert", insert},
                       {std::int64_t{-9'000'000'000}, 2.5, true, "héllo 'quoted'", Blob{bytes},
                        std::int64_t{12}, 7});
  EXPECT_EQ(inserted.affected(), 1u);
  must(*db, {"test.insert", insert},
       {Value(), Value(), Value(), Value(), Value(), Value(), Value()});
  auto rows = must(*db, {"test.select", select});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.at(0, "i").integer(), -9'000'000'000);
  EXPECT_DOUBLE_EQ(rows.at(0, "r").real(), 2.5);
  EXPECT_TRUE(rows.at(0, "b").boolean());
  EXPECT_EQ(rows.at(0, "s").text(), "héllo 'quoted'");
  EXPECT_EQ(rows.at(0, "y").blob().bytes, bytes);
  EXPECT_EQ(rows.at(0, "n").integer(), 12);  // a whole numeric reads as an integer
  EXPECT_EQ(rows.at(0, "small").integer(), 7);
  for (std::size_t c = 0; c < rows.columns().size(); ++c) EXPECT_TRUE(rows.at(1, c).is_null());

  // SUM(bigint) is numeric in PostgreSQL; AVG has a fraction.
  const std::string sums = "SELECT sum(i), avg(small::numeric) / 2 FROM " + t;
  auto aggregate = must(*db, {"test.sums", sums});
  EXPECT_EQ(aggregate.at(0, 0).integer(), -9'000'000'000);
  EXPECT_DOUBLE_EQ(aggregate.at(0, 1).real(), 3.5);
}

TEST_F(PgTest, InjectionThroughParametersIsInert) {
  auto db = open(options());
  const std::string t = table("inject");
  const std::string create = "CREATE TABLE " + t + " (id serial PRIMARY KEY, name text)";
  const std::string insert = "INSERT INTO " + t + " (name) VALUES ($1) RETURNING id";
  const std::string by_name = "SELECT count(*) FROM " + t + " WHERE name = $1";
  const std::string count = "SELECT count(*) FROM " + t;
  must(*db, {"test.create", create});
  const std::vector<std::string> attacks = {"x'); DROP TABLE " + t + "; --", "' OR '1'='1", "$1",
                                            "\\'; SELECT pg_sleep(10); --",
                                            "x\"; DELETE FROM " + t + "; --"};
  for (const auto& attack : attacks) must(*db, {"test.insert", insert}, {attack});
  EXPECT_EQ(must(*db, {"test.count", count}).at(0, 0).integer(),
            static_cast<std::int64_t>(attacks.size()));
  for (const auto& attack : attacks) {
    EXPECT_EQ(must(*db, {"test.by_name", by_name}, {attack}).at(0, 0).integer(), 1) << attack;
  }
  EXPECT_EQ(must(*db, {"test.by_name", by_name}, {"' OR '1'='1' --"}).at(0, 0).integer(), 0);
}

TEST_F(PgTest, ErrorsMapBySqlstateWithoutParameterValues) {
  auto db = open(options());
  const std::string t = table("errors");
  const std::string create = "CREATE TABLE " + t + " (id bigint CONSTRAINT " + t +
                             "_pk PRIMARY KEY, "
                             "qty int CONSTRAINT " +
                             t + "_qty CHECK (qty >= 0))";
  const std::string insert = "INSERT INTO " + t + " VALUES ($1, $2)";
  must(*db, {"test.create", create});
  must(*db, {"test.insert", insert}, {424242, 1});

  auto duplicate = run(*db, {"test.insert", insert}, {424242, 1});
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, Errc::conflict);
  EXPECT_NE(duplicate.error().message.find(t + "_pk"), std::string::npos)
      << duplicate.error().message;
  EXPECT_EQ(duplicate.error().message.find("424242"), std::string::npos);

  auto check = run(*db, {"test.insert", insert}, {1, -5});
  ASSERT_FALSE(check);
  EXPECT_EQ(check.error().code, Errc::conflict);
  EXPECT_NE(check.error().message.find(t + "_qty"), std::string::npos);

  auto bad_type = run(*db, {"test.insert", insert}, {"secret-value-77", 1});
  ASSERT_FALSE(bad_type);
  EXPECT_EQ(bad_type.error().code, Errc::invalid_argument);
  EXPECT_EQ(bad_type.error().message.find("secret-value-77"), std::string::npos)
      << bad_type.error().message;

  auto syntax = run(*db, {"test.bad_sql", "SELEC 1"});
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error().code, Errc::invalid_argument);

  auto missing = run(*db, {"test.bad_count", "SELECT $1::int + $2::int"}, {1});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::invalid_argument);

  // The connections that saw those errors still work.
  EXPECT_TRUE(run(*db, {"test.ok", "SELECT 1"}));
}

TEST_F(PgTest, StatementPastItsTimeoutIsCancelledOnTheServer) {
  auto opts = options();
  opts.pool_size = 1;  // the next statement reuses the same connection
  auto db = open(opts);
  Options short_timeout;
  short_timeout.timeout = 200ms;
  auto slow = run(*db, {"test.sleep", "SELECT pg_sleep(30)"}, {}, short_timeout);
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code, Errc::timeout) << slow.error().message;
  auto after = run(*db, {"test.ok", "SELECT 1"});
  EXPECT_TRUE(after) << after.error().message;
  // Nothing of it runs on the server any more.
  auto sleeping = must(*db, {"test.sleeping",
                             "SELECT count(*) FROM pg_stat_activity WHERE query = "
                             "'SELECT pg_sleep(30)' AND state = 'active'"});
  EXPECT_EQ(sleeping.at(0, 0).integer(), 0);
}

TEST_F(PgTest, CancellationThroughAsioStopsTheStatement) {
  auto db = open(options());
  const std::string marker = table("cancel");
  const std::string sleep = "SELECT pg_sleep(30), '" + marker + "'";
  const Query sleeper{"test.cancel_sleep", sleep};
  auto result = on_loop<Result<Rows>>([&]() -> Awaitable<Result<Rows>> {
    auto executor = co_await asio::this_coro::executor;
    asio::cancellation_signal signal;
    asio::steady_timer timer(executor);
    timer.expires_after(300ms);
    timer.async_wait([&signal](const boost::system::error_code&) {
      signal.emit(asio::cancellation_type::terminal);
    });
    auto outcome = co_await asio::co_spawn(
        executor,
        [&]() -> Awaitable<std::optional<Result<Rows>>> {
          co_return co_await db->execute(sleeper, {});
        },
        asio::bind_cancellation_slot(signal.slot(), asio::use_awaitable));
    co_return std::move(*outcome);
  });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::cancelled) << result.error().message;
  const std::string active = "SELECT count(*) FROM pg_stat_activity WHERE query = '" +
                             std::string("SELECT pg_sleep(30), ''") + marker +
                             "''' AND state = 'active'";
  EXPECT_TRUE(eventually([&] {
    auto rows = run(*db, {"test.active", active});
    return rows && rows->at(0, 0).integer() == 0;
  }));
}

TEST_F(PgTest, BatchRunsInOnePipelineAndIsAtomic) {
  auto db = open(options());
  const std::string t = table("batch");
  const std::string create = "CREATE TABLE " + t + " (id int PRIMARY KEY, v text)";
  const std::string insert = "INSERT INTO " + t + " VALUES ($1, $2)";
  const std::string select = "SELECT v FROM " + t + " WHERE id = $1";
  const std::string count = "SELECT count(*) FROM " + t;
  must(*db, {"test.create", create});
  using Batch = std::vector<std::pair<Query, Params>>;
  auto batch = [&](Batch statements) {
    return on_loop<Result<std::vector<Rows>>>([&]() -> Awaitable<Result<std::vector<Rows>>> {
      co_return co_await db->batch(statements);
    });
  };
  auto ok = batch({{{"test.insert", insert}, {1, "one"}},
                   {{"test.insert", insert}, {2, "two"}},
                   {{"test.select", select}, {2}}});
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok->size(), 3u);
  EXPECT_EQ(ok->at(0).affected(), 1u);
  EXPECT_EQ(ok->at(2).at(0, 0).text(), "two");

  auto failed = batch({{{"test.insert", insert}, {3, "three"}},
                       {{"test.insert", insert}, {1, "duplicate"}},
                       {{"test.insert", insert}, {4, "four"}}});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::conflict);
  EXPECT_EQ(must(*db, {"test.count", count}).at(0, 0).integer(), 2);  // 3 was rolled back

  auto bad = batch({{{"test.insert", insert}, {5, "five"}}, {{"test.bad", "SELEC"}, {}}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_EQ(must(*db, {"test.count", count}).at(0, 0).integer(), 2);
  // And the pool's connections are fine afterwards.
  auto again = batch({{{"test.insert", insert}, {5, "five"}}});
  EXPECT_TRUE(again) << again.error().message;
}

TEST_F(PgTest, TransactionsCommitRollBackAndRollBackWhenDropped) {
  auto db = open(options());
  const std::string t = table("tx");
  const std::string create = "CREATE TABLE " + t + " (id int PRIMARY KEY)";
  const std::string insert = "INSERT INTO " + t + " VALUES ($1)";
  const std::string count = "SELECT count(*) FROM " + t;
  must(*db, {"test.create", create});
  const Query ins{"test.insert", insert};
  auto outcome = on_loop<Status>([&]() -> Awaitable<Status> {
    auto tx = co_await db->begin();
    if (!tx) co_return tx.error();
    Params one{1}, two{2}, three{3}, four{4};
    const std::string no_token = "no commit token", no_conflict = "expected a conflict",
                      committed_failed = "a failed transaction committed";
    auto a = co_await (*tx)->execute(ins, one);
    if (!a) co_return a.error();
    auto committed = co_await (*tx)->commit();
    if (!committed) co_return committed.error();
    if (committed->position.empty()) co_return Error{Errc::internal, no_token};

    auto rolled = co_await db->begin();
    if (!rolled) co_return rolled.error();
    (void)co_await (*rolled)->execute(ins, two);
    auto r = co_await (*rolled)->rollback();
    if (!r) co_return r.error();

    {
      auto dropped = co_await db->begin();
      if (!dropped) co_return dropped.error();
      (void)co_await (*dropped)->execute(ins, three);
    }  // destroyed without commit

    auto failing = co_await db->begin();
    if (!failing) co_return failing.error();
    (void)co_await (*failing)->execute(ins, four);
    auto duplicate = co_await (*failing)->execute(ins, one);
    if (duplicate || duplicate.error().code != Errc::conflict) {
      co_return Error{Errc::internal, no_conflict};
    }
    auto refused = co_await (*failing)->commit();
    if (refused) co_return Error{Errc::internal, committed_failed};
    co_return Ok{};
  });
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(eventually([&] { return must(*db, {"test.count", count}).at(0, 0).integer() == 1; }));
}

TEST_F(PgTest, ConcurrentConflictingTransactionsAbortAndRetry) {
  auto opts = options();
  opts.pool_size = 8;
  auto db = open(opts);
  const std::string t = table("counter");
  const std::string create = "CREATE TABLE " + t + " (id int PRIMARY KEY, n int NOT NULL)";
  const std::string seed = "INSERT INTO " + t + " VALUES (1, 0)";
  const std::string read = "SELECT n FROM " + t + " WHERE id = 1";
  const std::string write = "UPDATE " + t + " SET n = $1 WHERE id = 1";
  must(*db, {"test.create", create});
  must(*db, {"test.seed", seed});
  const Query read_query{"test.read", read};
  const Query write_query{"test.write", write};
  constexpr int kWorkers = 8;
  constexpr int kIncrements = 5;
  std::atomic<int> aborted{0};
  // Read-modify-write under SERIALIZABLE: concurrent ones must abort, and retried they add up.
  auto worker = [&]() -> Awaitable<Status> {
    for (int done = 0; done < kIncrements;) {
      TransactionOptions serializable;
      serializable.isolation = Isolation::serializable;
      auto tx = co_await db->begin(serializable);
      if (!tx) co_return tx.error();
      auto current = co_await (*tx)->execute(read_query, {});
      Result<Rows> wrote = current;
      if (current) {
        Params next{current->at(0, 0).integer() + 1};
        wrote = co_await (*tx)->execute(write_query, std::move(next));
      }
      Result<CommitToken> committed =
          wrote ? Result<CommitToken>(CommitToken{}) : Result<CommitToken>(wrote.error());
      if (wrote) committed = co_await (*tx)->commit();
      if (committed) {
        ++done;
      } else if (committed.error().code == Errc::aborted) {
        ++aborted;
      } else {
        co_return committed.error();
      }
    }
    co_return Ok{};
  };
  auto outcome = on_loop<Status>(
      [&]() -> Awaitable<Status> {
        auto executor = co_await asio::this_coro::executor;
        std::vector<std::future<std::optional<Status>>> futures;
        for (int i = 0; i < kWorkers; ++i) {
          futures.push_back(asio::co_spawn(
              executor,
              [&worker]() -> Awaitable<std::optional<Status>> { co_return co_await worker(); },
              asio::use_future));
        }
        asio::steady_timer poll(executor);
        for (auto& future : futures) {
          bool ready = false;
          while (!ready) {
            ready = future.wait_for(0s) == std::future_status::ready;
            if (!ready) {
              poll.expires_after(5ms);
              co_await poll.async_wait(asio::use_awaitable);
            }
          }
          auto status = std::move(*future.get());
          if (!status) co_return status;
        }
        co_return Ok{};
      },
      120s);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(must(*db, {"test.read", read}).at(0, 0).integer(), kWorkers * kIncrements);
  EXPECT_GT(aborted.load(), 0);  // they did collide
}

TEST_F(PgTest, FullPoolMakesCallersWaitThenFailAtTheDeadline) {
  auto opts = options();
  opts.pool_size = 1;
  auto db = open(opts);
  const Query ok{"test.ok", "SELECT 1"};
  const std::string expected = "expected unavailable while the pool is empty";
  auto outcome = on_loop<Status>([&]() -> Awaitable<Status> {
    auto tx = co_await db->begin();  // holds the only connection
    if (!tx) co_return tx.error();
    Options quick;
    quick.timeout = 300ms;
    auto starved = co_await db->execute(ok, {}, quick);
    if (starved || starved.error().code != Errc::unavailable) {
      co_return Error{Errc::internal, expected};
    }
    auto committed = co_await (*tx)->commit();
    if (!committed) co_return committed.error();
    auto served = co_await db->execute(ok, {}, quick);
    if (!served) co_return served.error();
    co_return Ok{};
  });
  EXPECT_TRUE(outcome) << outcome.error().message;
}

TEST_F(PgTest, BadUrlsAreRefusedWithoutShowingThePassword) {
  DatabaseOptions bad = options();
  bad.url = "postgresql://user:hunter2@127.0.0.1/db?no_such_parameter=1";
  auto opened = open_database(bad, loop_->loop(), nullptr);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::invalid_argument);
  EXPECT_EQ(opened.error().message.find("hunter2"), std::string::npos);

  bad.url = primary_url_;
  bad.replicas = {"mysql://replica"};
  opened = open_database(bad, loop_->loop(), nullptr);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, Errc::invalid_argument);
}

TEST_F(PgTest, TlsParametersReachLibpq) {
  // The test server has no TLS: sslmode=require must fail, sslmode=disable must work.
  auto require = options();
  require.url = primary_url_ + "?sslmode=require";
  auto strict = open(require);
  auto refused = run(*strict, {"test.ok", "SELECT 1"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_NE(refused.error().message.find("SSL"), std::string::npos) << refused.error().message;

  auto disable = options();
  disable.url = primary_url_ + "?sslmode=disable&application_name=stoa_tls_test";
  auto plain = open(disable);
  auto rows =
      must(*plain, {"test.ssl", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"});
  EXPECT_FALSE(rows.at(0, 0).boolean());
}

TEST_F(PgTest, EveryStatementIsMeasured) {
  auto db = open(options());
  must(*db, {"test.measured", "SELECT 1"});
  (void)run(*db, {"test.measured_error", "SELEC"});
  const std::string text = telemetry_.metrics().expose();
  EXPECT_NE(text.find("db_query_summary=\"test.measured\""), std::string::npos);
  EXPECT_NE(text.find("error_type=\"invalid_argument\""), std::string::npos);
  EXPECT_NE(text.find("db_system_name=\"postgresql\""), std::string::npos);
}

TEST_F(PgTest, PrimaryStoppedGivesClearErrorsThenRecovers) {
  auto opts = options();
  opts.connect_timeout = 2s;
  auto db = open(opts);
  must(*db, {"test.ok", "SELECT 1"});
  stop_server("pg-primary");
  for (int i = 0; i < 3; ++i) {
    auto down = run(*db, {"test.ok", "SELECT 1"}, {}, {}, 15s);
    ASSERT_FALSE(down);
    EXPECT_EQ(down.error().code, Errc::unavailable) << down.error().message;
    EXPECT_FALSE(down.error().message.empty());
  }
  auto ping = on_loop<Status>([&]() -> Awaitable<Status> { co_return co_await db->ping(); }, 15s);
  EXPECT_FALSE(ping);
  start_server("pg-primary");
  EXPECT_TRUE(eventually(
      [&] {
        return static_cast<bool>(run(*db, {"test.ok", "SELECT 1"}));
      },
      30s));
}

}  // namespace
}  // namespace stoa::sql::test

namespace stoa::sql::test {
namespace {

TEST_F(PgTest, ReplicaTargetRefusesWritesEvenWhenThePrimaryServesIt) {
  auto db = open(options());  // no replicas: the primary serves Target::replica
  const std::string t = table("readonly");
  const std::string create = "CREATE TABLE " + t + " (id int PRIMARY KEY)";
  const std::string insert = "INSERT INTO " + t + " VALUES ($1)";
  const std::string count = "SELECT count(*) FROM " + t;
  must(*db, {"test.create", create});
  Options replica;
  replica.target = Target::replica;
  auto write = run(*db, {"test.insert", insert}, {1}, replica);
  ASSERT_FALSE(write);
  EXPECT_EQ(write.error().code, Errc::invalid_argument) << write.error().message;
  EXPECT_EQ(must(*db, {"test.count", count}, {}, replica).at(0, 0).integer(), 0);
  must(*db, {"test.insert", insert}, {1});
  EXPECT_EQ(must(*db, {"test.count", count}, {}, replica).at(0, 0).integer(), 1);
}

TEST_F(PgTest, OneQueryNameMeansOneSqlText) {
  auto opts = options();
  opts.pool_size = 1;
  auto db = open(opts);
  must(*db, {"test.named", "SELECT 1"});
  auto renamed = run(*db, {"test.named", "SELECT 2"});
  ASSERT_FALSE(renamed);
  EXPECT_EQ(renamed.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace stoa::sql::test
