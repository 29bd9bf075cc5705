#pragma once
// What the PostgreSQL tests share: the test servers' URLs, an event loop on a thread, and
// a TearDown that leaves the primary and the replica running with replay resumed, whatever
// the test did to them (tests share one pair of servers and run one at a time).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "data/sql/sql.h"
#include "observability/telemetry.h"
#include "runtime/event_loop.h"
#include "support/run_sync.h"
#include "support/test_servers.h"

namespace stoa::sql::test {

using namespace std::chrono_literals;

// An EventLoop of `threads` contexts, run on background threads until destroyed.
class LoopThread {
 public:
  explicit LoopThread(std::size_t threads = 1) : loop_(threads), thread_([this] { loop_.run(); }) {}
  ~LoopThread() {
    loop_.stop();
    thread_.join();
  }
  EventLoop& loop() { return loop_; }

 private:
  EventLoop loop_;
  std::thread thread_;
};

class PgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    STOA_TEST_SERVER_URL(primary, "STOA_TEST_PG_URL");
    STOA_TEST_SERVER_URL(replica, "STOA_TEST_PG_REPLICA_URL");
    primary_url_ = primary;
    replica_url_ = replica;
    loop_ = std::make_unique<LoopThread>();
  }

  void TearDown() override {
    // Databases go before the loop; then the servers are put back as they were.
    for (auto& db : databases_) db->close();
    databases_.clear();
    loop_.reset();
    if (primary_stopped_) {
      EXPECT_TRUE(::stoa::test::control_server("pg-primary", "start"));
    }
    if (replica_stopped_) {
      EXPECT_TRUE(::stoa::test::control_server("pg-replica", "start"));
    }
    if (replay_paused_) resume_replay();
  }

  DatabaseOptions options(std::vector<std::string> replicas = {}) {
    DatabaseOptions options;
    options.url = primary_url_;
    options.replicas = std::move(replicas);
    options.pool_size = 4;
    options.connect_timeout = 2s;
    options.statement_timeout = 10s;
    options.max_replica_lag = 500ms;
    options.replica_check_interval = 100ms;
    options.fresh_read_timeout = 500ms;
    return options;
  }

  std::shared_ptr<Database> open(const DatabaseOptions& options) {
    auto db = open_database(options, loop_->loop(), &telemetry_);
    if (!db) throw std::runtime_error("open_database: " + db.error().message);
    databases_.push_back(db.value());
    return db.value();
  }

  // Runs a coroutine on the loop and waits for it, at most `bound` (a hang fails the test).
  template <class T>
  T on_loop(std::function<Awaitable<T>()> make, std::chrono::milliseconds bound = 30s) {
    return ::stoa::test::run_sync(loop_->loop(), std::move(make), bound);
  }

  Result<Rows> run(Database& db, Query query, Params params = {}, Options options = {},
                   std::chrono::milliseconds bound = 30s) {
    return on_loop<Result<Rows>>(
        [&db, query, params, options]() -> Awaitable<Result<Rows>> {
          co_return co_await db.execute(query, params, options);
        },
        bound);
  }

  // For statements that must work (set-up): fails the test with the error otherwise.
  Rows must(Database& db, Query query, Params params = {}, Options options = {}) {
    auto rows = run(db, query, std::move(params), options);
    if (!rows) throw std::runtime_error(std::string(query.name) + ": " + rows.error().message);
    return rows.value();
  }

  // A statement on the replica itself (pg_wal_replay_pause and the like).
  Rows on_replica(Query query) {
    auto direct = options();
    direct.url = replica_url_;
    auto db = open(direct);
    return must(*db, query);
  }

  void pause_replay() {
    replay_paused_ = true;
    on_replica({"test.replay_pause", "SELECT pg_wal_replay_pause()"});
  }
  void resume_replay() {
    auto direct = options();
    direct.url = replica_url_;
    LoopThread loop;
    auto db = open_database(direct, loop.loop(), nullptr);
    ASSERT_TRUE(db);
    const Query resume{"test.replay_resume", "SELECT pg_wal_replay_resume()"};
    auto rows = ::stoa::test::run_sync(
        loop.loop(),
        [db = db.value(), resume]() -> Awaitable<Result<Rows>> {
          co_return co_await db->execute(resume, {});
        },
        30s);
    EXPECT_TRUE(rows) << rows.error().message;
    db.value()->close();
    replay_paused_ = false;
  }

  void stop_server(const std::string& server) {
    (server == "pg-primary" ? primary_stopped_ : replica_stopped_) = true;
    ASSERT_TRUE(::stoa::test::control_server(server, "stop"));
  }
  void start_server(const std::string& server) {
    ASSERT_TRUE(::stoa::test::control_server(server, "start"));
    (server == "pg-primary" ? primary_stopped_ : replica_stopped_) = false;
  }

  // Polls `condition` until it holds or `bound` passes.
  static bool eventually(const std::function<bool()>& condition,
                         std::chrono::milliseconds bound = 20s) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
      if (condition()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return condition();
  }

  // A table name unique to the running test.
  static std::string table(const std::string& prefix) {
    static std::atomic<int> counter{0};
    return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  }

  std::string primary_url_;
  std::string replica_url_;
  obs::Telemetry telemetry_{obs::TracerOptions{}, false};
  std::unique_ptr<LoopThread> loop_;
  std::vector<std::shared_ptr<Database>> databases_;
  bool primary_stopped_ = false;
  bool replica_stopped_ = false;
  bool replay_paused_ = false;
};

}  // namespace stoa::sql::test
