#pragma once
// The worker runtime on every broker backend: which deliveries reach a group's handlers and
// which land in its dead-letter queue. A consumer group is bound to whole topics, so groups
// sharing a topic each receive every type on it; a type a group does not handle must be
// acked unhandled (not dead-lettered), while an invalid event of a type it handles must still
// be dead-lettered. Include this header in exactly one test file of a test binary and
// instantiate it with that backend (messaging/broker_backend.h):
//
//   INSTANTIATE_TEST_SUITE_P(Embedded, WorkerContract,
//                            ::testing::Values(BrokerBackend{"embedded", open_fn}),
//                            [](const auto& info) { return info.param.name; });
//
// Tests wait with generous deadlines and never assert how long anything took.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "messaging/broker_backend.h"
#include "observability/telemetry.h"
#include "runtime/event_loop.h"
#include "runtime/uuid.h"
#include "support/child_process.h"
#include "support/run_sync.h"
#include "support/scratch_dir.h"
#include "workers/worker.h"

namespace stoa::workers::test {

using namespace std::chrono_literals;
using messaging::test::BrokerBackend;

constexpr const char* kTopic = "stoa.test";
constexpr const char* kAlpha = "stoa.test.alpha.v1";
constexpr const char* kBeta = "stoa.test.beta.v1";

// What one group's handler was given: the event types, in arrival order.
struct Seen {
  std::mutex mutex;
  std::vector<std::string> types;

  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return types;
  }
};

class WorkerContract : public ::testing::TestWithParam<BrokerBackend> {
 protected:
  WorkerContract() : telemetry_(obs::TracerOptions{}, false), thread_([this] { loop_.run(); }) {
    broker_options_.max_attempts = 3;
    broker_options_.retry_delay = 50ms;
    broker_options_.max_retry_delay = 200ms;
    options_.concurrency = 2;
    options_.max_attempts = 3;
    options_.lag_interval = 100ms;
    options_.receive_wait = 50ms;
  }
  ~WorkerContract() override {
    if (worker_) worker_->close();
    worker_.reset();
    if (broker_) broker_->close();
    broker_.reset();
    loop_.stop();
    thread_.join();
  }

  void SetUp() override {
    const std::string why = GetParam().missing();
    if (!why.empty()) {
      if (::stoa::test::require_all_tiers()) FAIL() << why;
      GTEST_SKIP() << why;
    }
    auto opened = GetParam().open(broker_options_, scratch_.path());
    ASSERT_TRUE(opened) << opened.error().message;
    broker_ = std::move(opened).value();
  }

  // A group on kTopic handling `type` ({"n": …} required), recording what it is given.
  static Group group(std::string name, std::string type, std::shared_ptr<Seen> seen) {
    Group g{std::move(name), {kTopic}, {}, {}};
    g.types.add(type, messaging::EventTypes::json_object_with({"n"}));
    g.handlers[type] = [seen](const messaging::Delivery& d) -> Awaitable<Status> {
      std::lock_guard lock(seen->mutex);
      seen->types.push_back(d.message.event.type);
      co_return Ok{};
    };
    return g;
  }

  // Declares the groups (before anything is published, as a broker requires) and starts.
  void start(std::vector<Group> groups) {
    worker_ = std::make_unique<Worker>(broker_, options_, std::move(groups), &telemetry_);
    auto declared = ::stoa::test::run_sync(
        loop_, [&]() -> Awaitable<Status> { co_return co_await worker_->declare(); });
    ASSERT_TRUE(declared) << declared.error().message;
    worker_->start(loop_);
  }

  static messaging::Message event(std::string type, int n, std::string data = "") {
    messaging::Message m;
    m.topic = kTopic;
    m.event.id = Uuid::v7().to_string();
    m.event.source = "/stoa/test";
    m.event.type = std::move(type);
    m.event.subject = "item-" + std::to_string(n);
    m.event.data = data.empty() ? "{\"n\":" + std::to_string(n) + "}" : std::move(data);
    m.event.has_data = true;
    return m;
  }

  Status publish(messaging::Message m) {
    return ::stoa::test::run_sync(
        loop_, [&]() -> Awaitable<Status> { co_return co_await broker_->publish(m); });
  }

  double metric(const std::string& group, const std::string& outcome) {
    return telemetry_.metrics()
        .counter("stoa_worker_messages_total", "x",
                 {{"messaging_consumer_group_name", group}, {"stoa_outcome", outcome}})
        .value();
  }
  // Deliveries the group has settled, whatever the outcome.
  double settled(const std::string& group) {
    return metric(group, "processed") + metric(group, "retried") + metric(group, "dead_lettered") +
           metric(group, "skipped");
  }

  std::vector<messaging::DeadLetter> dead_letters(const std::string& group) {
    auto letters = ::stoa::test::run_sync(
        loop_, [&]() -> Awaitable<Result<std::vector<messaging::DeadLetter>>> {
          co_return co_await broker_->dead_letters(group, 100);
        });
    if (!letters) throw std::runtime_error("dead_letters: " + letters.error().message);
    return std::move(letters).value();
  }
  messaging::GroupStatus status_of(const std::string& group) {
    auto groups = ::stoa::test::run_sync(
        loop_, [&]() -> Awaitable<Result<std::vector<messaging::GroupStatus>>> {
          co_return co_await broker_->groups();
        });
    if (groups) {
      for (auto& s : *groups) {
        if (s.name == group) return s;
      }
    }
    return {};
  }

  // Polls `done` until true or a generous deadline.
  static bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return done();
  }

  obs::Telemetry telemetry_;
  EventLoop loop_{2};
  std::thread thread_;
  ::stoa::test::ScratchDir scratch_{"stoa-workers"};
  messaging::BrokerOptions broker_options_;
  WorkerOptions options_;
  std::shared_ptr<messaging::Broker> broker_;
  std::unique_ptr<Worker> worker_;
};

// As user-export and user-deletion share stoa.user: every group gets every event of the
// topic, hands its own type to its handler and acks the other unhandled.
TEST_P(WorkerContract, GroupsOnOneTopicHandleOnlyTheirTypesAndDeadLetterNothing) {
  auto alpha_seen = std::make_shared<Seen>();
  auto beta_seen = std::make_shared<Seen>();
  std::vector<Group> groups;
  groups.push_back(group("alpha", kAlpha, alpha_seen));
  groups.push_back(group("beta", kBeta, beta_seen));
  start(std::move(groups));
  constexpr int kEach = 6;
  for (int i = 0; i < kEach; ++i) {
    ASSERT_TRUE(publish(event(kAlpha, i)));
    ASSERT_TRUE(publish(event(kBeta, i)));
  }
  ASSERT_TRUE(eventually([&] { return settled("alpha") >= 2 * kEach; })) << settled("alpha");
  ASSERT_TRUE(eventually([&] { return settled("beta") >= 2 * kEach; })) << settled("beta");

  EXPECT_EQ(alpha_seen->snapshot(), std::vector<std::string>(kEach, kAlpha));
  EXPECT_EQ(beta_seen->snapshot(), std::vector<std::string>(kEach, kBeta));
  for (const char* name : {"alpha", "beta"}) {
    EXPECT_EQ(metric(name, "processed"), kEach) << name;
    EXPECT_EQ(metric(name, "skipped"), kEach) << name;
    EXPECT_EQ(metric(name, "dead_lettered"), 0) << name;
    // Everything settled is acked: nothing waits, nothing is dead.
    EXPECT_TRUE(eventually([&] { return status_of(name).lag() == 0; })) << name;
    EXPECT_EQ(status_of(name).dead, 0u) << name;
    auto letters = dead_letters(name);
    EXPECT_TRUE(letters.empty()) << name << ": " << letters.size() << " dead letters, first: "
                                 << (letters.empty() ? "" : letters.front().reason);
  }
}

// Skipping the types a group does not handle must not hide the failures of those it does.
TEST_P(WorkerContract, AnInvalidEventOfAHandledTypeIsStillDeadLettered) {
  auto seen = std::make_shared<Seen>();
  std::vector<Group> groups;
  groups.push_back(group("alpha", kAlpha, seen));
  start(std::move(groups));
  ASSERT_TRUE(publish(event(kAlpha, 1, "{\"m\":1}")));  // no "n": its validator refuses it
  ASSERT_TRUE(publish(event(kBeta, 2)));                // not alpha's: skipped
  ASSERT_TRUE(publish(event(kAlpha, 3)));
  ASSERT_TRUE(eventually([&] { return settled("alpha") >= 3; })) << settled("alpha");
  ASSERT_TRUE(eventually([&] { return !dead_letters("alpha").empty(); }));

  auto letters = dead_letters("alpha");
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].message.event.type, kAlpha);
  EXPECT_EQ(letters[0].message.event.subject, "item-1");
  EXPECT_NE(letters[0].reason.find("invalid stoa.test.alpha.v1 event"), std::string::npos)
      << letters[0].reason;
  EXPECT_NE(letters[0].reason.find("data.n is missing"), std::string::npos) << letters[0].reason;
  EXPECT_EQ(seen->snapshot(), std::vector<std::string>{kAlpha});
  EXPECT_EQ(metric("alpha", "processed"), 1);
  EXPECT_EQ(metric("alpha", "skipped"), 1);
  EXPECT_EQ(metric("alpha", "dead_lettered"), 1);
}

}  // namespace stoa::workers::test
