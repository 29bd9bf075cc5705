// `stoa events …` as an operator runs it: dead letters listed and replayed on an embedded
// broker, the outbox's status, usage errors, and the embedded broker held by a running stoa.
#include <signal.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "messaging/embedded/embedded_broker.h"
#include "runtime/event_loop.h"
#include "runtime/uuid.h"
#include "support/run_sync.h"
#include "support/stoa_process.h"

// GCC 12 reports a false -Wmismatched-new-delete on Asio's coroutine frames when it inlines
// their allocation and deallocation differently (docs/runtime.md), as in migrations.cpp.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace stoa::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Two dead letters in group "billing": an unknown type and a failed handler's.
Awaitable<Status> dead_letter_two(std::shared_ptr<messaging::Broker> broker) {
  const messaging::GroupSpec spec{"billing", {"stoa.billing"}};
  auto declared = co_await broker->declare_group(spec);
  if (!declared) co_return declared;
  const messaging::ConsumerOptions consumer_options{"billing", 0};
  auto subscribed = co_await broker->subscribe(consumer_options);
  if (!subscribed) co_return subscribed.error();
  auto consumer = std::move(subscribed).value();
  for (int i = 0; i < 2; ++i) {
    messaging::Message m;
    m.topic = "stoa.billing";
    m.event.id = "evt-" + std::to_string(i);
    m.event.source = "/stoa/test";
    m.event.type = i == 0 ? "stoa.billing.unheard_of.v1" : "stoa.billing.charged.v1";
    auto published = co_await broker->publish(m);
    if (!published) co_return published;
    auto delivery = co_await consumer->receive(std::chrono::seconds(10));
    if (!delivery) co_return delivery.error();
    const std::string reason =
        i == 0 ? "unknown event type \"stoa.billing.unheard_of.v1\"" : "card\ndeclined";
    auto rejected = co_await consumer->reject(*delivery, reason);
    if (!rejected) co_return rejected;
  }
  consumer->close();
  co_return Ok{};
}

class StoaEvents : public ::testing::Test {
 protected:
  StoaEvents() {
    dir_ = (fs::temp_directory_path() / ("stoa-events-cli-" + Uuid::v7().to_string())).string();
    fs::create_directories(dir_);
    env_ = {{"STOA_DATABASE_URL", "sqlite://" + dir_ + "/stoa.db"},
            {"STOA_BROKER_URL", "embedded://" + dir_ + "/events"}};
  }
  ~StoaEvents() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Runs `stoa ARGS…` to its end: {exit code, output}.
  std::pair<int, std::string> stoa(std::vector<std::string> args) {
    StoaProcess process(std::move(args), env_);
    auto code = process.wait_exit(60s);
    return {code.value_or(-1), process.log()};
  }

  void make_dead_letters() {
    EventLoop loop(1);
    std::thread thread([&] { loop.run(); });
    messaging::BrokerOptions options;
    auto broker = messaging::embedded::open_embedded(options, dir_ + "/events").value();
    auto task = [broker]() -> Awaitable<Status> { co_return co_await dead_letter_two(broker); };
    auto made = run_sync(loop, std::move(task));
    broker->close();
    loop.stop();
    thread.join();
    ASSERT_TRUE(made) << made.error().message;
  }

  std::string dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(StoaEvents, DeadLettersAreListedAndReplayed) {
  make_dead_letters();
  auto [code, out] = stoa({"events", "dlq", "list"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("GROUP\tID\tATTEMPTS"), std::string::npos) << out;
  EXPECT_NE(out.find("stoa.billing.unheard_of.v1"), std::string::npos) << out;
  EXPECT_NE(out.find("\"card\\x0adeclined\""), std::string::npos) << "a reason's newline "
                                                                     "must not break the line: "
                                                                  << out;
  auto [limited_code, limited] =
      stoa({"events", "dlq", "list", "--group", "billing", "--limit", "1"});
  EXPECT_EQ(limited_code, 0);
  EXPECT_EQ(limited.find("card"), std::string::npos) << "--limit 1 shows the oldest only";

  // The first column after the group is the ID replay takes.
  const auto line = out.find("billing\t");
  ASSERT_NE(line, std::string::npos);
  const auto id_start = line + 8;
  const std::string id = out.substr(id_start, out.find('\t', id_start) - id_start);
  auto [replayed_code, replayed] = stoa({"events", "dlq", "replay", id});
  EXPECT_EQ(replayed_code, 0) << replayed;
  EXPECT_NE(replayed.find("replayed dead letter " + id + " into group billing"), std::string::npos)
      << replayed;
  auto [again_code, again] = stoa({"events", "dlq", "replay", id});
  EXPECT_EQ(again_code, 1) << again;
  EXPECT_NE(again.find("no dead letter " + id), std::string::npos) << again;

  auto [all_code, all] = stoa({"events", "dlq", "replay", "--all", "--group", "billing"});
  EXPECT_EQ(all_code, 0) << all;
  EXPECT_NE(all.find("replayed 1 dead letter"), std::string::npos) << all;
  auto [empty_code, empty] = stoa({"events", "dlq", "list"});
  EXPECT_EQ(empty_code, 0);
  EXPECT_NE(empty.find("no dead letters"), std::string::npos) << empty;

  auto [unknown_group, unknown_out] = stoa({"events", "dlq", "list", "--group", "nope"});
  EXPECT_EQ(unknown_group, 1);
  EXPECT_NE(unknown_out.find("no consumer group \"nope\""), std::string::npos) << unknown_out;
}

TEST_F(StoaEvents, OutboxStatusAfterMigrating) {
  auto [migrated, migrate_out] = stoa({"migrate", "messaging"});
  ASSERT_EQ(migrated, 0) << migrate_out;
  auto [code, out] = stoa({"events", "outbox", "status"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("pending: 0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("failing: 0\n"), std::string::npos) << out;
}

TEST_F(StoaEvents, OutboxStatusWithoutTheSchemaSaysWhatToDo) {
  auto [code, out] = stoa({"events", "outbox", "status"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("stoa migrate messaging"), std::string::npos) << out;
}

TEST_F(StoaEvents, UsageErrorsExitTwo) {
  for (std::vector<std::string> args : {std::vector<std::string>{"events"},
                                        {"events", "dlq"},
                                        {"events", "dlq", "list", "--limit", "0"},
                                        {"events", "dlq", "list", "--limit", "many"},
                                        {"events", "dlq", "replay"},
                                        {"events", "dlq", "replay", "1", "--all"},
                                        {"events", "dlq", "replay", "not-a-number"},
                                        {"events", "outbox", "status", "--group", "x"},
                                        {"events", "dlq", "list", "--frobnicate"},
                                        {"events", "outbox", "purge"}}) {
    auto [code, out] = stoa(args);
    EXPECT_EQ(code, 2) << args.back() << ": " << out;
    EXPECT_NE(out.find("events dlq list"), std::string::npos) << "usage shown: " << out;
  }
}

// --help on every command and subcommand prints its usage on stdout and exits 0, before any
// configuration or backend is touched.
TEST_F(StoaEvents, HelpOnEveryCommandPrintsUsageAndExitsZero) {
  for (std::vector<std::string> args : {std::vector<std::string>{"events", "--help"},
                                        {"events", "-h"},
                                        {"events", "dlq", "--help"},
                                        {"events", "dlq", "list", "--help"},
                                        {"events", "dlq", "list", "--group", "g", "--help"},
                                        {"events", "dlq", "replay", "-h"},
                                        {"events", "outbox", "status", "--help"}}) {
    auto [code, out] = stoa(args);
    EXPECT_EQ(code, 0) << args.back() << ": " << out;
    EXPECT_NE(out.find("events dlq replay ID|--all"), std::string::npos) << out;
    EXPECT_EQ(out.find("unknown option"), std::string::npos) << out;
  }
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"help"},
                                        {"up", "--help"},
                                        {"serve", "--help"},
                                        {"serve", "user", "-h"},
                                        {"components", "--help"},
                                        {"config", "--help"},
                                        {"migrate", "--help"},
                                        {"migrate", "--dir", "x", "--help"},
                                        {"version", "--help"}}) {
    auto [code, out] = stoa(args);
    EXPECT_EQ(code, 0) << args.front() << ": " << out;
    EXPECT_NE(out.find("Usage: stoa"), std::string::npos) << out;
  }
}

TEST_F(StoaEvents, TheEmbeddedBrokerHeldByARunningWorkerIsReportedClearly) {
  StoaProcess up({"serve", "workers"}, env_);
  ASSERT_TRUE(up.wait_ready()) << up.log();  // the workers component has the broker open
  auto [code, out] = stoa({"events", "dlq", "list"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("in use by another process"), std::string::npos) << out;
  EXPECT_NE(out.find("stop the process"), std::string::npos) << out;
  up.signal(SIGTERM);
  EXPECT_EQ(up.wait_exit(30s), std::optional<int>(0)) << up.log();
}

}  // namespace
}  // namespace stoa::test
