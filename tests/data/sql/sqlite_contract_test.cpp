// The SQL contract on SQLite (a fresh file per test in a temporary directory), and what only
// the SQLite driver does: URL options, reader connections, the bounded queue, the
// transaction claim on the writer.
#include <unistd.h>

#include <filesystem>

#include "data/sql/sql_contract.h"
#include "observability/telemetry.h"
#include "observability/tracer.h"
#include "runtime/trace_context.h"

namespace stoa::sql::test {
namespace {

namespace fs = std::filesystem;

// A directory removed when the test binary exits.
const fs::path& temp_root() {
  static const fs::path root = [] {
    std::string pattern = (fs::temp_directory_path() / "stoa-sqlite-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    return fs::path(pattern);
  }();
  static const struct Cleanup {
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(temp_root(), ignored);
    }
  } cleanup;
  return root;
}

std::string fresh_path() {
  static std::atomic<int> counter{0};
  return (temp_root() / ("db" + std::to_string(++counter)) / "stoa.db").string();
}

ContractTarget sqlite_target() {
  return {"Sqlite", [] {
            DatabaseOptions options;
            options.url = "sqlite://" + fresh_path();
            options.pool_size = 2;
            return std::optional<DatabaseOptions>(options);
          }};
}

}  // namespace

STOA_SQL_CONTRACT(Sqlite, sqlite_target());

// The SQLite-only behaviour, on the same fixture.
class SqliteDriver : public SqlContract {
 protected:
  void open_with(const std::string& url_options) {
    options_.url += url_options;
    db_ = open();
  }
};

TEST_P(SqliteDriver, RefusesBadUrls) {
  for (const std::string url : {"sqlite://", "sqlite://x.db?colour=red",
                                "sqlite://x.db?busy_timeout=soon", "sqlite://x.db?max_queue=0"}) {
    DatabaseOptions options;
    options.url = url;
    auto opened = open_database(options, *loop_, nullptr);
    ASSERT_FALSE(opened.ok()) << url;
    EXPECT_EQ(opened.error().code, Errc::invalid_argument) << url;
  }
  DatabaseOptions replicas;
  replicas.url = "sqlite://x.db";
  replicas.replicas = {"sqlite://y.db"};
  auto opened = open_database(replicas, *loop_, nullptr);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::invalid_argument);
}

TEST_P(SqliteDriver, CreatesTheFileAndItsDirectoriesInWalMode) {
  const std::string path = options_.url.substr(std::string("sqlite://").size());
  EXPECT_TRUE(fs::exists(path));
  auto mode = must(q("wal.mode", "PRAGMA journal_mode"));
  EXPECT_EQ(mode.at(0, 0).text(), "wal");
  auto keys = must(q("fk.on", "PRAGMA foreign_keys"));
  EXPECT_EQ(keys.at(0, 0).integer(), 1);
}

TEST_P(SqliteDriver, InMemoryDatabaseWorks) {
  options_.url = "sqlite://:memory:";
  db_ = open();
  create("memory_items", "id BIGINT PRIMARY KEY");
  must(q("memory.insert", "INSERT INTO memory_items (id) VALUES ($1)"), {1});
  Options replica;
  replica.target = Target::replica;
  EXPECT_EQ(
      must(q("memory.count", "SELECT count(*) FROM memory_items"), {}, replica).at(0, 0).integer(),
      1);
}

TEST_P(SqliteDriver, ForeignKeysAreEnforcedAsConflicts) {
  create("fk_parent", "id BIGINT PRIMARY KEY");
  create("fk_child", "id BIGINT PRIMARY KEY, parent BIGINT NOT NULL REFERENCES fk_parent (id)");
  auto orphan = run(q("fk.insert", "INSERT INTO fk_child (id, parent) VALUES ($1, $2)"), {1, 99});
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().code, Errc::conflict) << describe(orphan);
}

TEST_P(SqliteDriver, ReplicaTargetRefusesWritesAndSeesCommittedData) {
  create("replica_items", "id BIGINT PRIMARY KEY");
  Options replica;
  replica.target = Target::replica;
  auto write = run(q("replica.write", "INSERT INTO replica_items (id) VALUES ($1)"), {1}, replica);
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code, Errc::invalid_argument) << describe(write);
  must(q("primary.write", "INSERT INTO replica_items (id) VALUES ($1)"), {2});
  for (int i = 0; i < 4; ++i) {  // every reader connection sees it
    EXPECT_EQ(must(q("replica.count", "SELECT count(*) FROM replica_items"), {}, replica)
                  .at(0, 0)
                  .integer(),
              1);
  }
}

TEST_P(SqliteDriver, PlaceholdersAreDollarNumbersWithoutGaps) {
  for (const std::string sql : {"SELECT ?", "SELECT :name", "SELECT $2", "SELECT @x"}) {
    auto result = run(q("placeholder." + sql, sql), {1, 2});
    ASSERT_FALSE(result.ok()) << sql;
    EXPECT_EQ(result.error().code, Errc::invalid_argument) << sql;
  }
  auto reused = must(q("placeholder.reused", "SELECT $1 + $1 AS twice, $2 AS other"), {20, "x"});
  EXPECT_EQ(reused.at(0, "twice").integer(), 40);
  EXPECT_EQ(reused.at(0, "other").text(), "x");
  auto renamed = run(q("placeholder.reused", "SELECT 1"));
  ASSERT_FALSE(renamed.ok()) << "one name, two SQL texts";
  EXPECT_EQ(renamed.error().code, Errc::invalid_argument);
}

TEST_P(SqliteDriver, AFullQueueRefusesWorkInsteadOfGrowing) {
  options_.url += "?max_queue=1";
  db_ = open();
  Options slow;
  slow.timeout = std::chrono::seconds(50);
  auto& signal = signals_.emplace_back();
  auto running = spawn_future(loop_->context(0), db_->execute(kSlow, {}, slow), signal.slot());
  // The writer holds one statement running (or about to) and at most one more waiting, so
  // of three more at least two are refused at once.
  std::vector<std::future<Result<Rows>>> more;
  // All on one context, so they are submitted in this order and before the cancellation.
  for (int i = 0; i < 3; ++i)
    more.push_back(spawn_future(loop_->context(0), db_->execute(kOne, {})));
  boost::asio::post(loop_->context(0),
                    [&signal] { signal.emit(boost::asio::cancellation_type::terminal); });
  ASSERT_EQ(running.wait_for(kBound), std::future_status::ready);
  EXPECT_EQ(running.get().error().code, Errc::cancelled);
  int refused = 0;
  for (auto& future : more) {
    ASSERT_EQ(future.wait_for(kBound), std::future_status::ready);
    auto result = future.get();
    if (result.ok()) continue;
    EXPECT_EQ(result.error().code, Errc::unavailable) << describe(result);
    ++refused;
  }
  EXPECT_GE(refused, 2);
  EXPECT_EQ(must(kOne).at(0, "one").integer(), 1) << "the queue has room again";
}

TEST_P(SqliteDriver, AnAbandonedTransactionIsRolledBackAtItsTimeout) {
  create("claim_items", "id BIGINT PRIMARY KEY");
  auto insert = q("claim.insert", "INSERT INTO claim_items (id) VALUES ($1)");
  TransactionOptions short_lived;
  short_lived.timeout = std::chrono::milliseconds(300);
  auto tx = wait(db_->begin(short_lived));
  ASSERT_TRUE(tx.ok()) << describe(tx);
  ASSERT_TRUE(wait((*tx)->execute(insert, {1})).ok());
  // The transaction holds the writer; a statement of its own waits until the claim ends.
  must(insert, {2});
  auto late = wait((*tx)->execute(insert, {3}));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Errc::timeout) << describe(late);
  auto rows = must(q("claim.ids", "SELECT id FROM claim_items ORDER BY id"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows.at(0, 0).integer(), 2);
}

TEST_P(SqliteDriver, ReadOnlyTransactionsRefuseWrites) {
  create("ro_items", "id BIGINT PRIMARY KEY");
  TransactionOptions read_only;
  read_only.read_only = true;
  auto tx = wait(db_->begin(read_only));
  ASSERT_TRUE(tx.ok()) << describe(tx);
  auto write = wait((*tx)->execute(q("ro.insert", "INSERT INTO ro_items (id) VALUES ($1)"), {1}));
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code, Errc::invalid_argument) << describe(write);
}

// Every statement records its duration by name, target and outcome, and a span under a
// recording caller's span.
TEST_P(SqliteDriver, EveryStatementRecordsMetricsAndASpan) {
  obs::Telemetry telemetry(obs::TracerOptions{}, false);
  telemetry_ = &telemetry;
  db_ = open();
  create("telemetry_items", "id BIGINT PRIMARY KEY");
  const TraceContext trace = TraceContext::child_of(TraceContext{});
  Options traced;
  traced.trace = &trace;
  auto insert = q("telemetry.insert", "INSERT INTO telemetry_items (id) VALUES ($1)");
  must(insert, {1}, traced);
  EXPECT_EQ(run(insert, {1}, traced).error().code, Errc::conflict);
  Options replica;
  replica.target = Target::replica;
  must(q("telemetry.count", "SELECT count(*) FROM telemetry_items"), {}, replica);

  const std::string metrics = telemetry.metrics().expose();
  for (
      const std::string expected :
      {R"(db_client_operation_duration_seconds_count{db_query_summary="telemetry.insert",db_system_name="sqlite",error_type="",stoa_db_target="primary"} 1)",
       R"(db_client_operation_duration_seconds_count{db_query_summary="telemetry.insert",db_system_name="sqlite",error_type="conflict",stoa_db_target="primary"} 1)",
       R"(db_client_operation_duration_seconds_count{db_query_summary="telemetry.count",db_system_name="sqlite",error_type="",stoa_db_target="replica"} 1)"}) {
    EXPECT_NE(metrics.find(expected), std::string::npos) << expected << "\nin:\n" << metrics;
  }
  auto spans = telemetry.tracer().trace_spans(trace.trace_id);
  ASSERT_EQ(spans.size(), 2u);
  for (const auto& span : spans) {
    EXPECT_EQ(span.name, "telemetry.insert");
    EXPECT_EQ(span.kind, obs::SpanKind::client);
    EXPECT_EQ(span.parent_span_id, trace.span_id);
  }
  db_->close();
  for (auto& db : opened_) db->close();
}

INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteDriver, ::testing::Values(sqlite_target()),
                         [](const auto& info) { return info.param.name; });

}  // namespace stoa::sql::test
