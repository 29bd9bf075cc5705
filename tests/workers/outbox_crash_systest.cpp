// The crash test of the outbox, the relay, the worker and the inbox together: this process
// appends N credit events through the outbox while the process running the relay and the
// worker (stoa_test_workers serve workers: with the embedded broker they share its process)
// is killed with SIGKILL again and again and restarted. At the end every event was applied
// exactly once: N ledger rows, N distinct ids, the expected sum, nothing pending, nothing
// dead-lettered.
//
// Parameterized by the broker: a scenario names the broker URL and how many worker
// processes run. A RabbitMQ scenario (several processes on one broker, the broker restarted
// once) is one more INSTANTIATE line once the amqp adapter lands.
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "data/sql/migrations.h"
#include "data/sql/sql.h"
#include "messaging/outbox.h"
#include "runtime/event_loop.h"
#include "runtime/uuid.h"
#include "support/child_process.h"
#include "support/run_sync.h"
#include "support/stoa_process.h"
#include "support/test_servers.h"

// GCC 12 reports a false -Wmismatched-new-delete on Asio's coroutine frames when it inlines
// their allocation and deallocation differently (docs/runtime.md), as in migrations.cpp.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace stoa::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct CrashScenario {
  std::string name;
  // broker.url for a scenario whose data lives under `dir`.
  std::function<std::string(const std::string& dir)> broker_url;
  int processes = 1;  // worker processes running at once (each runs a relay and the handlers)
  bool restart_broker = false;  // the test server "rabbitmq" is stopped and started once
};

void PrintTo(const CrashScenario& scenario, std::ostream* out) {
  *out << scenario.name;
}

class OutboxCrash : public ::testing::TestWithParam<CrashScenario> {
 protected:
  OutboxCrash() : thread_([this] { loop_.run(); }) {
    dir_ = (fs::temp_directory_path() / ("stoa-crash-" + Uuid::v7().to_string())).string();
    fs::create_directories(dir_);
    env_ = {{"STOA_DATABASE_URL", "sqlite://" + dir_ + "/stoa.db"},
            {"STOA_BROKER_URL", GetParam().broker_url(dir_)},
            {"STOA_OUTBOX_POLL_INTERVAL", "20ms"},
            {"STOA_OUTBOX_LEASE_TIMEOUT", "1s"},
            {"STOA_BROKER_RETRY_DELAY", "100ms"},
            {"STOA_BROKER_MAX_RETRY_DELAY", "1s"},
            {"STOA_BROKER_MAX_ATTEMPTS", "1000"},
            {"STOA_WORKERS_CONCURRENCY", "4"}};
  }
  ~OutboxCrash() override {
    processes_.clear();
    if (db_) db_->close();
    loop_.stop();
    thread_.join();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::unique_ptr<StoaProcess> start_worker() {
    auto process = std::make_unique<StoaProcess>(std::vector<std::string>{"serve", "workers"}, env_,
                                                 std::vector<std::string>{}, test_workers_binary());
    EXPECT_TRUE(process->wait_ready()) << process->log();
    return process;
  }

  template <class T>
  T run(std::function<Awaitable<T>()> make) {
    return ::stoa::test::run_sync(loop_, std::move(make), 120s);
  }

  Result<sql::Rows> query(sql::Query q) {
    return run<Result<sql::Rows>>(
        [&]() -> Awaitable<Result<sql::Rows>> { co_return co_await db_->execute(q, {}); });
  }

  std::int64_t applied() {
    auto rows = query({"crash.count", "SELECT COUNT(*) FROM crash_ledger"});
    return rows ? rows->at(0, 0).integer() : -1;  // -1: the worker has not made the table yet
  }

  EventLoop loop_{1};
  std::thread thread_;
  std::string dir_;
  std::map<std::string, std::string> env_;
  std::shared_ptr<sql::Database> db_;
  std::vector<std::unique_ptr<StoaProcess>> processes_;
};

TEST_P(OutboxCrash, KillingTheRelayAndWorkerLosesNothingAndAppliesNothingTwice) {
  constexpr int kEvents = 2000;
  constexpr int kKills = 25;
  if (env_["STOA_BROKER_URL"].empty()) {
    if (require_all_tiers()) FAIL() << GetParam().name << "'s broker is not set";
    GTEST_SKIP() << GetParam().name << "'s broker is not available here";
  }
  for (int i = 0; i < GetParam().processes; ++i) processes_.push_back(start_worker());
  ASSERT_FALSE(HasFailure());

  sql::DatabaseOptions options;
  options.url = env_["STOA_DATABASE_URL"];
  db_ = sql::open_database(options, loop_, nullptr).value();
  auto set = sql::registered_migrations("messaging");
  ASSERT_TRUE(set);
  ASSERT_TRUE(
      run<Result<std::vector<std::string>>>([&]() -> Awaitable<Result<std::vector<std::string>>> {
        co_return co_await sql::apply_migrations(*db_, *set);
      }));

  // The producer: transactions of 1-10 events, 13 aggregates, amounts 1..N.
  std::atomic<int> appended{0};
  auto producer = std::async(std::launch::async, [&]() -> Status {
    std::mt19937 random(42);
    int next = 1;
    while (next <= kEvents) {
      const int size = std::min<int>(kEvents - next + 1, 1 + static_cast<int>(random() % 10));
      const int first = next;
      auto once = [&]() -> Awaitable<Status> {
        auto begun = co_await db_->begin();
        if (!begun) co_return begun.error();
        for (int n = first; n < first + size; ++n) {
          messaging::Message m;
          m.topic = "stoa.test";
          m.event.id = Uuid::v7().to_string();
          m.event.source = "/stoa/test/crash";
          m.event.type = "stoa.test.credited.v1";
          m.event.subject = "acct-" + std::to_string(n % 13);
          m.event.data = "{\"amount\":" + std::to_string(n) + "}";
          m.event.has_data = true;
          auto added = co_await messaging::append(**begun, m);
          if (!added) co_return added.error();
        }
        auto committed = co_await (*begun)->commit();
        if (!committed) co_return committed.error();
        co_return Ok{};
      };
      // The worker process writes to the same file: a transaction that lost the write lock
      // is run again, as a service would.
      Status done = Ok{};
      for (int attempt = 0; attempt < 20; ++attempt) {
        done = run<Status>(once);
        if (done || (done.error().code != Errc::aborted && done.error().code != Errc::timeout)) {
          break;
        }
      }
      if (!done) return done;
      next += size;
      appended.store(next - 1);
      // Paced, so that the kills below fall while events are still being appended.
      std::this_thread::sleep_for(5ms);
    }
    return Ok{};
  });

  // The killer: SIGKILL a worker process at random moments, restart it at once; at least
  // kKills times, and on until the producer is done.
  std::mt19937 random(7);
  int kills = 0;
  for (; kills < kKills || producer.wait_for(0ms) != std::future_status::ready; ++kills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + random() % 250));
    auto& victim = processes_[random() % processes_.size()];
    victim->signal(SIGKILL);
    ASSERT_TRUE(victim->wait_exit(10s).has_value());
    victim = start_worker();
    ASSERT_FALSE(HasFailure());
    if (GetParam().restart_broker && kills == kKills / 2) {
      // The broker goes away while events flow and comes back: publishes fail and are retried
      // from the outbox, consumers reconnect.
      ASSERT_TRUE(control_server("rabbitmq", "stop"));
      std::this_thread::sleep_for(1s);
      ASSERT_TRUE(control_server("rabbitmq", "start"));
    }
  }
  std::fprintf(stderr, "killed the worker %d times\n", kills);
  auto produced = producer.get();
  ASSERT_TRUE(produced) << produced.error().message;
  EXPECT_EQ(appended.load(), kEvents);

  auto deadline = std::chrono::steady_clock::now() + 180s;
  while (applied() < kEvents && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  auto ledger = query(
      {"crash.check", "SELECT COUNT(*), COUNT(DISTINCT event_id), SUM(amount) FROM crash_ledger"});
  ASSERT_TRUE(ledger) << ledger.error().message;
  EXPECT_EQ(ledger->at(0, 0).integer(), kEvents) << "applied rows";
  EXPECT_EQ(ledger->at(0, 1).integer(), kEvents) << "distinct events";
  EXPECT_EQ(ledger->at(0, 2).integer(), std::int64_t{kEvents} * (kEvents + 1) / 2) << "sum";
  auto totals = query({"crash.totals", "SELECT total, applied FROM crash_totals"});
  ASSERT_TRUE(totals && totals->size() == 1);
  EXPECT_EQ(totals->at(0, 0).integer(), std::int64_t{kEvents} * (kEvents + 1) / 2);
  EXPECT_EQ(totals->at(0, 1).integer(), kEvents);
  auto status =
      run<Result<messaging::OutboxStatus>>([&]() -> Awaitable<Result<messaging::OutboxStatus>> {
        co_return co_await messaging::outbox_status(*db_);
      });
  ASSERT_TRUE(status);
  EXPECT_EQ(status->pending, 0u);

  // Nothing was dead-lettered: asked through the operator command once the workers stop
  // (the embedded broker belongs to one process).
  for (auto& process : processes_) {
    process->signal(SIGTERM);
    EXPECT_EQ(process->wait_exit(30s), std::optional<int>(0)) << process->log();
  }
  StoaProcess dlq({"events", "dlq", "list", "--group", "crash-ledger"}, env_);
  EXPECT_EQ(dlq.wait_exit(30s), std::optional<int>(0)) << dlq.log();
  EXPECT_NE(dlq.log().find("no dead letters"), std::string::npos) << dlq.log();
  if (HasFailure()) {
    for (auto& process : processes_)
      std::fprintf(stderr, "worker log:\n%s\n", process->log().c_str());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Embedded, OutboxCrash,
    ::testing::Values(CrashScenario{
        "embedded", [](const std::string& dir) { return "embedded://" + dir + "/events"; }, 1}),
    [](const auto& info) { return info.param.name; });

// RabbitMQ from the test servers: two worker processes (two relays, two consumers of the
// group) in a namespace of their own, and the broker restarted once mid-run.
std::string rabbitmq_url(const std::string&) {
  const std::string url = server_url("STOA_TEST_AMQP_URL");
  if (url.empty()) return url;
  return url + "?namespace=crash" + Uuid::v7().to_string().substr(24);
}

INSTANTIATE_TEST_SUITE_P(RabbitMQ, OutboxCrash,
                         ::testing::Values(CrashScenario{"rabbitmq", rabbitmq_url, 2, true}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace stoa::test
