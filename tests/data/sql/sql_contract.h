#pragma once
// The SQL contract: what every driver behind data/sql/sql.h must do, whatever the engine.
// A driver's test instantiates it with a way to open a fresh database:
//
//   #include "data/sql/sql_contract.h"
//   stoa::sql::test::ContractTarget sqlite_target() { ... }
//   STOA_SQL_CONTRACT(Sqlite, sqlite_target());
//
// Include it from one file per test binary (the tests are defined here), and invoke the
// macro inside namespace stoa::sql::test. The suite uses dialect-neutral SQL, and DDL per
// dialect only where types differ (BLOB / BYTEA). Each test drops and creates the tables it
// uses (contract_*), so tests run one after another on one server database; when ctest runs
// them in parallel, the factory should give each call a database or schema of its own.
// Migration schemas carry a random suffix, so stoa_migrations may be shared.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "data/sql/migrations.h"
#include "data/sql/sql.h"
#include "runtime/event_loop.h"
#include "support/child_process.h"
#include "support/run_sync.h"

namespace stoa::obs {
class Telemetry;
}

namespace stoa::sql::test {

using ::stoa::test::spawn_future;

struct ContractTarget {
  std::string name;  // the instantiation's name in test names
  // Options for the database under test; called once per test. nullopt when the server is
  // missing: the test skips (fails when every tier must run, see require_all_tiers()).
  std::function<std::optional<DatabaseOptions>()> options;
};

// gtest prints a parameter with this instead of its bytes.
inline void PrintTo(const ContractTarget& target, std::ostream* out) {
  *out << target.name;
}

inline std::string describe(const Error& error) {
  return std::string(to_string(error.code)) + ": " + error.message;
}

template <class T>
std::string describe(const Result<T>& result) {
  return result.ok() ? std::string("ok") : describe(result.error());
}

class SqlContract : public ::testing::TestWithParam<ContractTarget> {
 protected:
  static constexpr auto kBound = std::chrono::seconds(60);  // no single call takes longer

  void SetUp() override {
    auto options = GetParam().options();
    if (!options) {
      if (::stoa::test::require_all_tiers()) FAIL() << GetParam().name << ": no server";
      GTEST_SKIP() << GetParam().name << ": no server configured";
    }
    options_ = *options;
    loop_ = std::make_unique<EventLoop>(2);
    thread_ = std::thread([this] { loop_->run(); });
    db_ = open();
    // A suffix unique to this test run: tables and migration schemas of their own.
    std::random_device random;
    suffix_ = std::to_string(random() % 1'000'000'000);
  }

  void TearDown() override {
    for (auto& db : opened_) db->close();
    opened_.clear();
    db_.reset();
    if (loop_) loop_->stop();
    if (thread_.joinable()) thread_.join();
    loop_.reset();
  }

  std::shared_ptr<Database> open() {
    auto opened = open_database(options_, *loop_, telemetry_);
    if (!opened) {
      ADD_FAILURE() << describe(opened.error());
      throw std::runtime_error("cannot open the database");
    }
    opened_.push_back(*opened);
    return *opened;
  }

  // Runs `operation` on context `context` of the loop and waits for its result.
  template <class T>
  T wait(Awaitable<T> operation, std::size_t context = 0) {
    return ::stoa::test::run_sync(*loop_, std::move(operation), kBound, context);
  }

  Result<Rows> run(Query query, Params params = {}, Options options = {}) {
    return wait(db_->execute(query, std::move(params), options));
  }

  // Runs a statement that must succeed.
  Rows must(Query query, Params params = {}, Options options = {}) {
    auto result = run(query, std::move(params), options);
    if (!result) {
      ADD_FAILURE() << query.name << ": " << describe(result.error());
      return Rows();
    }
    return std::move(result).value();
  }

  Dialect dialect() const { return db_->dialect(); }
  const char* blob_type() const { return dialect() == Dialect::sqlite ? "BLOB" : "BYTEA"; }

  // A table of this test: dropped, then created.
  void create(const std::string& table, const std::string& columns) {
    const std::string drop = "DROP TABLE IF EXISTS " + table;
    const std::string make = "CREATE TABLE " + table + " (" + columns + ")";
    must(Query{"contract.drop." + table, drop});
    must(Query{"contract.create." + table, make});
  }
  // Query names must be unique per SQL text; tests build SQL with their table's name.
  Query q(const std::string& name, const std::string& sql) {
    texts_.push_back(std::make_unique<std::string>(name));
    const std::string& stored_name = *texts_.back();
    texts_.push_back(std::make_unique<std::string>(sql));
    return Query{stored_name, *texts_.back()};
  }

  DatabaseOptions options_;
  obs::Telemetry* telemetry_ = nullptr;  // for open(); a test that sets it outlives its use
  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
  std::shared_ptr<Database> db_;
  std::vector<std::shared_ptr<Database>> opened_;
  std::vector<std::unique_ptr<std::string>> texts_;
  std::string suffix_;
  // Cancellation signals outlive the test body: an operation still pending when a test
  // fails early completes in TearDown, and then leaves its signal's slot.
  std::deque<boost::asio::cancellation_signal> signals_;
};

// A statement that runs for minutes unless stopped: counting to a billion.
inline const Query kSlow{"contract.slow",
                         "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                         "WHERE x < 1000000000) SELECT count(*) FROM c"};
inline const Query kOne{"contract.one", "SELECT 1 AS one"};

TEST_P(SqlContract, CreatesReadsUpdatesAndDeletesRows) {
  create("contract_items", "id BIGINT PRIMARY KEY, name TEXT NOT NULL, qty BIGINT");
  auto insert = q("items.insert", "INSERT INTO contract_items (id, name, qty) VALUES ($1, $2, $3)");
  EXPECT_EQ(must(insert, {1, "apple", 3}).affected(), 1u);
  EXPECT_EQ(must(insert, {2, "pear", 5}).affected(), 1u);

  auto by_id = q("items.by_id", "SELECT id, name, qty FROM contract_items WHERE id = $1");
  auto rows = must(by_id, {2});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.columns(), (std::vector<std::string>{"id", "name", "qty"}));
  EXPECT_EQ(rows.at(0, "name").text(), "pear");
  EXPECT_EQ(rows.at(0, "qty").integer(), 5);

  auto update = q("items.add", "UPDATE contract_items SET qty = qty + $1 WHERE qty < $2");
  EXPECT_EQ(must(update, {10, 100}).affected(), 2u);
  EXPECT_EQ(must(by_id, {1}).at(0, "qty").integer(), 13);

  auto remove = q("items.delete", "DELETE FROM contract_items WHERE id = $1");
  EXPECT_EQ(must(remove, {1}).affected(), 1u);
  EXPECT_EQ(must(remove, {1}).affected(), 0u);
  EXPECT_TRUE(must(by_id, {1}).empty());
  EXPECT_EQ(must(by_id, {1}).affected(), 0u);
}

TEST_P(SqlContract, EveryValueTypeRoundTrips) {
  create("contract_values", std::string("id BIGINT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, "
                                        "b BOOLEAN, t TEXT, y ") +
                                blob_type());
  auto insert =
      q("values.insert",
        "INSERT INTO contract_values (id, i, r, b, t, y) VALUES ($1, $2, $3, $4, $5, $6)");
  auto read = q("values.read", "SELECT i, r, b, t, y FROM contract_values WHERE id = $1");

  const std::string utf8 = "h\xc3\xa9llo \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89";
  const std::string bytes("\0\x01\xff\0zz\x80", 7);
  const std::string large(1 << 20, 'x');
  struct Case {
    Value i, r, b, t, y;
  };
  const std::vector<Case> cases{
      {std::numeric_limits<std::int64_t>::min(), -0.25, false, utf8, Blob{bytes}},
      {std::numeric_limits<std::int64_t>::max(), 1e300, true, large, Blob{""}},
      {0, 3.5, true, "", Blob{std::string(100'000, '\0')}},
      {Value(), Value(), Value(), Value(), Value()},
  };
  for (std::size_t n = 0; n < cases.size(); ++n) {
    const auto& c = cases[n];
    must(insert, {static_cast<std::int64_t>(n), c.i, c.r, c.b, c.t, c.y});
    auto rows = must(read, {static_cast<std::int64_t>(n)});
    ASSERT_EQ(rows.size(), 1u) << "case " << n;
    if (c.i.is_null()) {
      for (std::size_t column = 0; column < 5; ++column) {
        EXPECT_TRUE(rows.at(0, column).is_null()) << "column " << column;
      }
      continue;
    }
    EXPECT_EQ(rows.at(0, "i").integer(), c.i.integer()) << "case " << n;
    EXPECT_DOUBLE_EQ(rows.at(0, "r").real(), c.r.real()) << "case " << n;
    EXPECT_EQ(rows.at(0, "b").boolean(), c.b.boolean()) << "case " << n;
    EXPECT_EQ(rows.at(0, "t").text(), c.t.text()) << "case " << n;
    EXPECT_EQ(rows.at(0, "y").blob(), c.y.blob()) << "case " << n;
  }
}

TEST_P(SqlContract, TypedAccessRefusesTheWrongType) {
  auto rows = must(q("typed.select", "SELECT 42 AS n, 'text' AS t, NULL AS z"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.at(0, "n").integer(), 42);
  EXPECT_EQ(rows.at(0, "t").text(), "text");
  EXPECT_TRUE(rows.at(0, "z").is_null());
  EXPECT_EQ(rows.at(0, "z").optional_text(), std::nullopt);
  EXPECT_THROW((void)rows.at(0, "t").integer(), std::bad_variant_access);
  EXPECT_THROW((void)rows.at(0, "missing"), std::out_of_range);
}

// PostgreSQL cannot store NUL in text; the engines agree by refusing it (use a Blob).
TEST_P(SqlContract, TextWithNulIsRefused) {
  create("contract_nul", "t TEXT");
  auto insert = q("nul.insert", "INSERT INTO contract_nul (t) VALUES ($1)");
  auto result = run(insert, {std::string("a\0b", 3)});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::invalid_argument) << describe(result);
}

TEST_P(SqlContract, UniqueViolationIsAConflictThatNamesTheConstraintNotTheValue) {
  create("contract_users", "id BIGINT PRIMARY KEY, email TEXT NOT NULL UNIQUE");
  auto insert = q("users.insert", "INSERT INTO contract_users (id, email) VALUES ($1, $2)");
  must(insert, {1, "secret-address@example.com"});
  auto duplicate = run(insert, {2, "secret-address@example.com"});
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, Errc::conflict) << describe(duplicate);
  EXPECT_NE(duplicate.error().message.find("email"), std::string::npos) << describe(duplicate);
  EXPECT_EQ(duplicate.error().message.find("secret-address"), std::string::npos)
      << describe(duplicate);
  EXPECT_EQ(must(q("users.count", "SELECT count(*) AS n FROM contract_users")).at(0, "n").integer(),
            1);
}

TEST_P(SqlContract, InjectionThroughParametersIsInert) {
  create("contract_notes", "id BIGINT PRIMARY KEY, body TEXT NOT NULL");
  auto insert = q("notes.insert", "INSERT INTO contract_notes (id, body) VALUES ($1, $2)");
  auto by_body = q("notes.by_body", "SELECT id, body FROM contract_notes WHERE body = $1");
  const std::vector<std::string> attacks{"'; DROP TABLE contract_notes; --", "x' OR '1'='1", "$1",
                                         "\"; DELETE FROM contract_notes; --",
                                         "1); DROP TABLE contract_notes; /*"};
  for (std::size_t i = 0; i < attacks.size(); ++i) {
    must(insert, {static_cast<std::int64_t>(i), attacks[i]});
  }
  for (std::size_t i = 0; i < attacks.size(); ++i) {
    auto rows = must(by_body, {attacks[i]});
    ASSERT_EQ(rows.size(), 1u) << attacks[i];
    EXPECT_EQ(rows.at(0, "body").text(), attacks[i]);
    EXPECT_EQ(rows.at(0, "id").integer(), static_cast<std::int64_t>(i));
  }
  EXPECT_TRUE(must(by_body, {"' OR '1'='1"}).empty());
  EXPECT_EQ(must(q("notes.count", "SELECT count(*) AS n FROM contract_notes")).at(0, "n").integer(),
            static_cast<std::int64_t>(attacks.size()));
}

TEST_P(SqlContract, BadSqlAndWrongParameterCountsAreInvalidArguments) {
  auto bad = run(q("bad.syntax", "SELEC 1"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument) << describe(bad);
  auto missing = run(q("bad.table", "SELECT * FROM contract_no_such_table"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::invalid_argument) << describe(missing);

  create("contract_params", "a BIGINT, b BIGINT");
  auto insert = q("params.insert", "INSERT INTO contract_params (a, b) VALUES ($1, $2)");
  auto too_few = run(insert, {1});
  ASSERT_FALSE(too_few.ok());
  EXPECT_EQ(too_few.error().code, Errc::invalid_argument) << describe(too_few);
  auto too_many = run(insert, {1, 2, 3});
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, Errc::invalid_argument) << describe(too_many);
  auto two = run(q("bad.two", "SELECT 1; SELECT 2"));
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().code, Errc::invalid_argument) << describe(two);
  EXPECT_TRUE(run(insert, {1, 2}).ok()) << "the database stays usable";
}

TEST_P(SqlContract, TransactionsCommitAndRollBack) {
  create("contract_ledger", "id BIGINT PRIMARY KEY, amount BIGINT NOT NULL");
  auto insert = q("ledger.insert", "INSERT INTO contract_ledger (id, amount) VALUES ($1, $2)");
  auto count = q("ledger.count", "SELECT count(*) AS n FROM contract_ledger");
  {
    auto tx = wait(db_->begin());
    ASSERT_TRUE(tx.ok()) << describe(tx);
    EXPECT_TRUE(wait((*tx)->execute(insert, {1, 100})).ok());
    EXPECT_TRUE(wait((*tx)->execute(insert, {2, 200})).ok());
    auto inside = wait((*tx)->execute(count, {}));
    ASSERT_TRUE(inside.ok());
    EXPECT_EQ(inside->at(0, "n").integer(), 2) << "a transaction sees its own writes";
    auto committed = wait((*tx)->commit());
    EXPECT_TRUE(committed.ok()) << describe(committed);
  }
  EXPECT_EQ(must(count).at(0, "n").integer(), 2);
  {
    auto tx = wait(db_->begin());
    ASSERT_TRUE(tx.ok()) << describe(tx);
    EXPECT_TRUE(wait((*tx)->execute(insert, {3, 300})).ok());
    auto rolled_back = wait((*tx)->rollback());
    EXPECT_TRUE(rolled_back.ok()) << describe(rolled_back);
  }
  EXPECT_EQ(must(count).at(0, "n").integer(), 2);
  {
    auto tx = wait(db_->begin());
    ASSERT_TRUE(tx.ok()) << describe(tx);
    EXPECT_TRUE(wait((*tx)->execute(insert, {4, 400})).ok());
    // Destroyed without commit: rolled back.
  }
  EXPECT_EQ(must(count).at(0, "n").integer(), 2);
  {
    // A failed statement does not end the transaction by itself; the caller decides.
    auto tx = wait(db_->begin());
    ASSERT_TRUE(tx.ok()) << describe(tx);
    auto duplicate = wait((*tx)->execute(insert, {1, 1}));
    EXPECT_FALSE(duplicate.ok());
    EXPECT_EQ(duplicate.error().code, Errc::conflict) << describe(duplicate);
    (void)wait((*tx)->rollback());
    auto again = wait((*tx)->commit());
    EXPECT_FALSE(again.ok()) << "a finished transaction cannot commit";
  }
  EXPECT_EQ(must(count).at(0, "n").integer(), 2);
}

TEST_P(SqlContract, EveryIsolationLevelIsAccepted) {
  for (auto isolation :
       {Isolation::read_committed, Isolation::repeatable_read, Isolation::serializable}) {
    for (bool read_only : {false, true}) {
      TransactionOptions options;
      options.isolation = isolation;
      options.read_only = read_only;
      auto tx = wait(db_->begin(options));
      ASSERT_TRUE(tx.ok()) << describe(tx);
      auto one = wait((*tx)->execute(kOne, {}));
      ASSERT_TRUE(one.ok()) << describe(one);
      EXPECT_EQ(one->at(0, "one").integer(), 1);
      auto committed = wait((*tx)->commit());
      EXPECT_TRUE(committed.ok()) << describe(committed);
    }
  }
}

// Read-modify-write from coroutines on two threads: serializable transactions retried on
// Errc::aborted lose no update.
TEST_P(SqlContract, ConcurrentConflictingTransactionsLoseNoUpdate) {
  create("contract_counter", "id BIGINT PRIMARY KEY, n BIGINT NOT NULL");
  must(q("counter.insert", "INSERT INTO contract_counter (id, n) VALUES (1, 0)"));
  const Query read = q("counter.read", "SELECT n FROM contract_counter WHERE id = 1");
  const Query write = q("counter.write", "UPDATE contract_counter SET n = $1 WHERE id = 1");
  constexpr int kWorkers = 4, kIncrements = 10;
  std::atomic<int> retries{0};
  auto increment = [this, read, write, &retries]() -> Awaitable<Status> {
    for (int i = 0; i < kIncrements; ++i) {
      bool done = false;
      while (!done) {
        TransactionOptions options;
        options.isolation = Isolation::serializable;
        auto tx = co_await db_->begin(options);
        if (!tx) co_return tx.error();
        auto current = co_await (*tx)->execute(read, {});
        Status outcome = Ok{};
        if (!current) {
          outcome = current.error();
        } else {
          Params next{current->at(0, 0).integer() + 1};  // not inline: GCC 12, see runtime.md
          auto updated = co_await (*tx)->execute(write, std::move(next));
          if (!updated) {
            outcome = updated.error();
          } else {
            auto committed = co_await (*tx)->commit();
            if (!committed) outcome = committed.error();
          }
        }
        if (outcome.ok()) {
          done = true;
        } else if (outcome.error().code == Errc::aborted) {
          ++retries;  // lost the race: run the whole transaction again
        } else {
          co_return outcome.error();
        }
      }
    }
    co_return Ok{};
  };
  std::vector<std::future<Status>> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.push_back(spawn_future(loop_->context(w % loop_->size()), increment()));
  }
  for (auto& worker : workers) {
    ASSERT_EQ(worker.wait_for(kBound), std::future_status::ready);
    auto status = worker.get();
    EXPECT_TRUE(status.ok()) << describe(status);
  }
  EXPECT_EQ(must(read).at(0, "n").integer(), kWorkers * kIncrements) << retries << " retries";
}

TEST_P(SqlContract, AStatementPastItsTimeoutStopsAndTheDatabaseStaysUsable) {
  Options options;
  options.timeout = std::chrono::milliseconds(200);
  auto slow = run(kSlow, {}, options);
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, Errc::timeout) << describe(slow);
  EXPECT_EQ(must(kOne).at(0, "one").integer(), 1);
  options.target = Target::replica;
  slow = run(kSlow, {}, options);
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, Errc::timeout) << describe(slow);
}

TEST_P(SqlContract, CancellationStopsAStatement) {
  for (Target target : {Target::primary, Target::replica}) {
    Options options;
    options.target = target;
    options.timeout = std::chrono::seconds(50);  // bounded even if cancellation were ignored
    auto& signal = signals_.emplace_back();
    auto& context = loop_->context(0);
    auto future = spawn_future(context, db_->execute(kSlow, {}, options), signal.slot());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let it start (either way works)
    // A signal is not thread-safe: emit it on the coroutine's thread.
    boost::asio::post(context,
                      [&signal] { signal.emit(boost::asio::cancellation_type::terminal); });
    ASSERT_EQ(future.wait_for(kBound), std::future_status::ready);
    auto result = future.get();
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, Errc::cancelled) << describe(result);
  }
  EXPECT_EQ(must(kOne).at(0, "one").integer(), 1);
}

TEST_P(SqlContract, BatchRunsInOneTransaction) {
  create("contract_batch", "id BIGINT PRIMARY KEY");
  auto insert = q("batch.insert", "INSERT INTO contract_batch (id) VALUES ($1)");
  auto count = q("batch.count", "SELECT count(*) AS n FROM contract_batch");
  std::vector<std::pair<Query, Params>> statements{{insert, {1}}, {insert, {2}}, {count, {}}};
  auto results = wait(db_->batch(statements));
  ASSERT_TRUE(results.ok()) << describe(results);
  ASSERT_EQ(results->size(), 3u);
  EXPECT_EQ((*results)[0].affected(), 1u);
  EXPECT_EQ((*results)[2].at(0, "n").integer(), 2);

  std::vector<std::pair<Query, Params>> failing{{insert, {3}}, {insert, {1}}};
  auto failed = wait(db_->batch(failing));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::conflict) << describe(failed);
  EXPECT_EQ(must(count).at(0, "n").integer(), 2) << "the batch's first insert was rolled back";
}

TEST_P(SqlContract, ReplicaReadsSeeTheCallersCommit) {
  create("contract_replica", "id BIGINT PRIMARY KEY, v TEXT");
  auto insert = q("replica.insert", "INSERT INTO contract_replica (id, v) VALUES ($1, $2)");
  auto tx = wait(db_->begin());
  ASSERT_TRUE(tx.ok()) << describe(tx);
  ASSERT_TRUE(wait((*tx)->execute(insert, {1, "one"})).ok());
  auto token = wait((*tx)->commit());
  ASSERT_TRUE(token.ok()) << describe(token);
  Options options;
  options.target = Target::replica;
  options.after = *token;
  auto rows = must(q("replica.read", "SELECT v FROM contract_replica WHERE id = $1"), {1}, options);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.at(0, "v").text(), "one");
}

TEST_P(SqlContract, PingAnswers) {
  auto status = wait(db_->ping());
  EXPECT_TRUE(status.ok()) << describe(status);
}

// --- migrations ----------------------------------------------------------------------------

inline MigrationSet contract_migrations(const std::string& schema) {
  const std::string table = schema + "_things";
  MigrationSet set;
  set.schema = schema;
  set.files = {
      {"0001_create_things.sql",
       "-- the first table; a ';' in a comment\n"
       "CREATE TABLE " +
           table +
           " (id BIGINT PRIMARY KEY, label TEXT NOT NULL);\n"
           "INSERT INTO " +
           table + " (id, label) VALUES (1, 'semi;colon');\n"},
      {"0002_add_payload.sqlite.sql", "ALTER TABLE " + table + " ADD COLUMN payload BLOB;"},
      {"0002_add_payload.postgresql.sql", "ALTER TABLE " + table + " ADD COLUMN payload BYTEA;"},
      {"0003_index_label.sql", "CREATE INDEX " + table + "_label ON " + table + " (label)"},
  };
  return set;
}

TEST_P(SqlContract, MigrationsApplyOnceAndRefuseAnEditedOne) {
  const std::string schema = "contract_" + suffix_;
  auto set = contract_migrations(schema);
  auto applied = wait(apply_migrations(*db_, set));
  ASSERT_TRUE(applied.ok()) << describe(applied);
  EXPECT_EQ(*applied, (std::vector<std::string>{"0001_create_things", "0002_add_payload",
                                                "0003_index_label"}));
  auto label =
      must(q("things.read", "SELECT label, payload FROM " + schema + "_things WHERE id = 1"));
  ASSERT_EQ(label.size(), 1u);
  EXPECT_EQ(label.at(0, "label").text(), "semi;colon");

  auto again = wait(apply_migrations(*db_, set));
  ASSERT_TRUE(again.ok()) << describe(again);
  EXPECT_TRUE(again->empty()) << "nothing is applied twice";

  set.files.push_back({"0004_more.sql", "CREATE TABLE " + schema + "_more (id BIGINT)"});
  auto more = wait(apply_migrations(*db_, set));
  ASSERT_TRUE(more.ok()) << describe(more);
  EXPECT_EQ(*more, std::vector<std::string>{"0004_more"});

  set.files[0].sql += "\n-- edited\n";
  auto edited = wait(apply_migrations(*db_, set));
  ASSERT_FALSE(edited.ok());
  EXPECT_EQ(edited.error().code, Errc::conflict);
  EXPECT_NE(edited.error().message.find("migration " + schema +
                                        "/0001_create_things was edited after it was applied"),
            std::string::npos)
      << edited.error().message;

  auto records =
      must(q("migrations.records",
             "SELECT version, name, checksum FROM stoa_migrations WHERE schema_name = $1 "
             "ORDER BY version"),
           {schema});
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records.at(0, "name").text(), "0001_create_things");
  EXPECT_EQ(records.at(0, "checksum").text().size(), 64u);
}

TEST_P(SqlContract, AFailingMigrationLeavesNothingBehind) {
  const std::string schema = "contract_" + suffix_;
  MigrationSet set;
  set.schema = schema;
  set.files = {{"0001_fine.sql", "CREATE TABLE " + schema + "_fine (id BIGINT)"},
               {"0002_half.sql", "CREATE TABLE " + schema + "_half (id BIGINT);\nSELEC broken;"},
               {"0003_never.sql", "CREATE TABLE " + schema + "_never (id BIGINT)"}};
  auto failed = wait(apply_migrations(*db_, set));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Errc::invalid_argument) << describe(failed);
  EXPECT_NE(failed.error().message.find(schema + "/0002_half, statement 2"), std::string::npos)
      << failed.error().message;
  EXPECT_TRUE(run(q("fine.read", "SELECT id FROM " + schema + "_fine")).ok())
      << "the migration before the failing one stays applied";
  EXPECT_FALSE(run(q("half.read", "SELECT id FROM " + schema + "_half")).ok())
      << "the failing migration's first statement was rolled back";
  EXPECT_FALSE(run(q("never.read", "SELECT id FROM " + schema + "_never")).ok())
      << "nothing after the failing migration ran";
  auto records = must(
      q("migrations.names", "SELECT name FROM stoa_migrations WHERE schema_name = $1"), {schema});
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records.at(0, "name").text(), "0001_fine");
}

// Two databases (as two processes would open them) applying one set at the same time:
// each migration is applied exactly once.
TEST_P(SqlContract, ConcurrentAppliersApplyEachMigrationOnce) {
  const std::string schema = "contract_" + suffix_;
  auto set = contract_migrations(schema);
  auto other = open();
  auto first = spawn_future(loop_->context(0), apply_migrations(*db_, set));
  auto second = spawn_future(loop_->context(1), apply_migrations(*other, set));
  ASSERT_EQ(first.wait_for(kBound), std::future_status::ready);
  ASSERT_EQ(second.wait_for(kBound), std::future_status::ready);
  auto a = first.get();
  auto b = second.get();
  ASSERT_TRUE(a.ok()) << describe(a);
  ASSERT_TRUE(b.ok()) << describe(b);
  EXPECT_EQ(a->size() + b->size(), 3u);
  auto records = must(
      q("migrations.count", "SELECT count(*) AS n FROM stoa_migrations WHERE schema_name = $1"),
      {schema});
  EXPECT_EQ(records.at(0, "n").integer(), 3);
}

}  // namespace stoa::sql::test

// Instantiates the contract for one driver: STOA_SQL_CONTRACT(Sqlite, target), inside
// namespace stoa::sql::test (gtest wants the suite's plain name).
#define STOA_SQL_CONTRACT(prefix, target)                                  \
  INSTANTIATE_TEST_SUITE_P(prefix, SqlContract, ::testing::Values(target), \
                           [](const auto& info) { return info.param.name; })
