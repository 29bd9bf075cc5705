// Replica reads against a real streaming replica: lag (replay paused) sends fresh reads to
// the primary and keeps others within the bound; a stopped replica never shows the caller
// an error; read-your-writes waits for the replica or reads the primary.
#include "data/sql/pg_fixture.h"

namespace stoa::sql::test {
namespace {

// Where a read ran, and what it saw.
struct Seen {
  bool on_replica = false;
  std::int64_t count = 0;
};

class PgReplicaTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    t_ = table("replica");
    create_ = "CREATE TABLE " + t_ + " (id int PRIMARY KEY)";
    insert_ = "INSERT INTO " + t_ + " VALUES ($1)";
    // pg_is_in_recovery() tells which server answered.
    count_ = "SELECT count(*), pg_is_in_recovery() FROM " + t_;
  }

  Seen read(Database& db, Options options) {
    options.target = Target::replica;
    auto rows = run(db, {"test.replica_count", count_}, {}, options);
    if (!rows) throw std::runtime_error("replica read failed: " + rows.error().message);
    return Seen{rows->at(0, 1).boolean(), rows->at(0, 0).integer()};
  }

  static Options replica_read() {
    Options options;
    options.target = Target::replica;
    return options;
  }

  // Inserts `id` in a transaction and returns its commit token.
  CommitToken write(Database& db, int id) {
    const Query insert{"test.insert", insert_};
    auto token = on_loop<Result<CommitToken>>([&]() -> Awaitable<Result<CommitToken>> {
      auto tx = co_await db.begin();
      if (!tx) co_return tx.error();
      Params row{id};
      auto inserted = co_await (*tx)->execute(insert, std::move(row));
      if (!inserted) co_return inserted.error();
      co_return co_await (*tx)->commit();
    });
    if (!token) throw std::runtime_error("write failed: " + token.error().message);
    return token.value();
  }

  // Waits until the replica has the table and serves plain replica reads.
  void wait_for_replica(Database& db) {
    ASSERT_TRUE(eventually([&] {
      auto rows = run(db, {"test.replica_count", count_}, {}, replica_read());
      return rows && rows->at(0, 1).boolean();
    })) << "the replica never became fit to read from";
  }

  std::string t_, create_, insert_, count_;
};

TEST_F(PgReplicaTest, LaggingReplicaServesBoundedReadsAndFreshReadsGoToThePrimary) {
  auto db = open(options({replica_url_}));
  must(*db, {"test.create", create_});
  write(*db, 1);
  wait_for_replica(*db);

  pause_replay();
  const CommitToken token = write(*db, 2);
  ASSERT_FALSE(token.position.empty());

  // Read-your-writes: the replica cannot replay the commit, so after fresh_read_timeout the
  // primary answers, with the write.
  Options fresh;
  fresh.after = token;
  Seen seen = read(*db, fresh);
  EXPECT_FALSE(seen.on_replica);
  EXPECT_EQ(seen.count, 2);

  // Plain replica reads may see the old state while the lag is within the bound; once the
  // replica is further behind than max_replica_lag, the primary serves them.
  bool moved = eventually([&] {
    Seen plain = read(*db, Options{});
    if (plain.on_replica) {
      EXPECT_EQ(plain.count, 1);  // stale, and within the bound
    }
    return !plain.on_replica;
  });
  EXPECT_TRUE(moved) << "reads stayed on a replica that lags past max_replica_lag";
  Seen plain = read(*db, Options{});
  EXPECT_FALSE(plain.on_replica);
  EXPECT_EQ(plain.count, 2);

  resume_replay();
  // Caught up: the replica serves reads again, fresh ones included.
  EXPECT_TRUE(eventually([&] {
    Seen again = read(*db, fresh);
    return again.on_replica && again.count == 2;
  }));
}

TEST_F(PgReplicaTest, ReadYourWritesUsesTheReplicaOnceItHasReplayed) {
  auto opts = options({replica_url_});
  opts.fresh_read_timeout = 5s;  // long enough for streaming replication on loopback
  auto db = open(opts);
  must(*db, {"test.create", create_});
  write(*db, 1);
  wait_for_replica(*db);
  for (int id = 2; id < 12; ++id) {
    Options fresh;
    fresh.after = write(*db, id);
    Seen seen = read(*db, fresh);
    EXPECT_EQ(seen.count, id);  // whichever server answered, it had the write
  }
  // A write sent to a replica target fails there, and is not retried on the primary.
  const std::string insert = insert_;
  auto write = run(*db, {"test.insert", insert}, {100}, replica_read());
  ASSERT_FALSE(write);
  EXPECT_EQ(write.error().code, Errc::invalid_argument) << write.error().message;
  // A malformed token is the caller's mistake.
  Options bogus;
  bogus.target = Target::replica;
  bogus.after = CommitToken{"not-an-lsn"};
  auto refused = run(*db, {"test.replica_count", count_}, {}, bogus);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_argument);
}

TEST_F(PgReplicaTest, StoppedReplicaFallsBackToThePrimaryWithoutErrors) {
  auto db = open(options({replica_url_}));
  must(*db, {"test.create", create_});
  write(*db, 1);
  wait_for_replica(*db);

  stop_server("pg-replica");
  // Every read succeeds: the first ones may hit the dead replica's pooled connections and
  // are retried on the primary; then the monitor marks it down.
  for (int i = 0; i < 20; ++i) {
    auto rows = run(*db, {"test.replica_count", count_}, {}, replica_read());
    ASSERT_TRUE(rows) << rows.error().message;
    EXPECT_FALSE(rows->at(0, 1).boolean());
    EXPECT_EQ(rows->at(0, 0).integer(), 1);
  }
  start_server("pg-replica");
  wait_for_replica(*db);
}

TEST_F(PgReplicaTest, ReplicaKilledMidUseStillAnswersFromThePrimary) {
  auto db = open(options({replica_url_}));
  must(*db, {"test.create", create_});
  write(*db, 1);
  wait_for_replica(*db);
  ASSERT_TRUE(::stoa::test::control_server("pg-replica", "kill"));
  replica_stopped_ = true;
  auto rows = run(*db, {"test.replica_count", count_}, {}, replica_read());
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(rows->at(0, 0).integer(), 1);
  start_server("pg-replica");
  wait_for_replica(*db);
}

}  // namespace
}  // namespace stoa::sql::test
