#pragma once
// The broker contract: one suite of behaviour every adapter must show (embedded here;
// RabbitMQ in a *_rmqtest.cpp and Kafka in a *_kafkatest.cpp later). Include this header in
// exactly one test file of a test binary and instantiate it with that backend's factory
// (rabbitmq_broker_rmqtest.cpp shows a backend that needs a server):
//
//   INSTANTIATE_TEST_SUITE_P(Embedded, BrokerContract,
//                            ::testing::Values(BrokerBackend{"embedded", open_fn}),
//                            [](const auto& info) { return info.param.name; });
//
// Tests wait for deliveries with generous deadlines and never assert how long anything took.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "messaging/broker.h"
#include "messaging/broker_backend.h"
#include "runtime/event_loop.h"
#include "runtime/uuid.h"
#include "support/child_process.h"
#include "support/run_sync.h"
#include "support/scratch_dir.h"

namespace stoa::messaging::test {

using namespace std::chrono_literals;

class BrokerContract : public ::testing::TestWithParam<BrokerBackend> {
 protected:
  BrokerContract() : thread_([this] { loop_.run(); }) {
    options_.max_attempts = 3;
    options_.retry_delay = 50ms;
    options_.max_retry_delay = 200ms;
    options_.visibility_timeout = 30s;
    options_.prefetch = 16;
  }
  ~BrokerContract() override {
    if (broker_) broker_->close();
    broker_.reset();
    loop_.stop();
    thread_.join();
  }

  void SetUp() override {
    const std::string why = GetParam().missing();
    if (why.empty()) return;
    if (::stoa::test::require_all_tiers()) FAIL() << why;
    GTEST_SKIP() << why;
  }

  Broker& open() {
    if (broker_) broker_->close();
    broker_.reset();
    auto opened = GetParam().open(options_, scratch_.path());
    if (!opened) throw std::runtime_error("cannot open the broker: " + opened.error().message);
    broker_ = std::move(opened).value();
    return *broker_;
  }

  // Starts a coroutine on the loop's thread.
  template <class T>
  std::future<T> spawn(std::function<Awaitable<T>()> make) {
    return ::stoa::test::spawn_future(loop_.context(0), std::move(make));
  }

  // Runs a coroutine on the loop's thread and waits for it.
  template <class T>
  T run(std::function<Awaitable<T>()> make) {
    return ::stoa::test::run_sync(loop_, std::move(make));
  }

  static Message message(std::string topic, int n) {
    Message m;
    m.topic = std::move(topic);
    m.event.id = Uuid::v7().to_string();
    m.event.source = "/stoa/test";
    m.event.type = "stoa.test.happened.v1";
    m.event.subject = "item-" + std::to_string(n);
    m.event.data = "{\"n\":" + std::to_string(n) + "}";
    m.event.has_data = true;
    return m;
  }

  Status publish(Message m) {
    return run<Status>([&]() -> Awaitable<Status> { co_return co_await broker_->publish(m); });
  }
  Status declare(std::string group, std::vector<std::string> topics) {
    // Arguments are named, never temporaries inside co_await: GCC 12 destroys those twice
    // (docs/runtime.md).
    const GroupSpec spec{group, topics};
    return run<Status>(
        [&]() -> Awaitable<Status> { co_return co_await broker_->declare_group(spec); });
  }
  std::unique_ptr<Consumer> consumer(std::string group, std::size_t prefetch = 0) {
    const ConsumerOptions options{group, prefetch};
    auto c = run<Result<std::unique_ptr<Consumer>>>(
        [&]() -> Awaitable<Result<std::unique_ptr<Consumer>>> {
          co_return co_await broker_->subscribe(options);
        });
    if (!c) throw std::runtime_error("subscribe: " + c.error().message);
    return std::move(c).value();
  }
  Result<Delivery> receive(Consumer& c, std::chrono::milliseconds wait = 10s) {
    return run<Result<Delivery>>(
        [&]() -> Awaitable<Result<Delivery>> { co_return co_await c.receive(wait); });
  }
  Status ack(Consumer& c, const Delivery& d) {
    return run<Status>([&]() -> Awaitable<Status> { co_return co_await c.ack(d); });
  }
  Status nack(Consumer& c, const Delivery& d, std::string reason,
              std::optional<std::chrono::milliseconds> delay = {}) {
    return run<Status>([&]() -> Awaitable<Status> { co_return co_await c.nack(d, reason, delay); });
  }
  Status reject(Consumer& c, const Delivery& d, std::string reason) {
    return run<Status>([&]() -> Awaitable<Status> { co_return co_await c.reject(d, reason); });
  }
  std::vector<DeadLetter> dead_letters(std::string group) {
    auto r =
        run<Result<std::vector<DeadLetter>>>([&]() -> Awaitable<Result<std::vector<DeadLetter>>> {
          co_return co_await broker_->dead_letters(group, 1000);
        });
    if (!r) throw std::runtime_error("dead_letters: " + r.error().message);
    return std::move(r).value();
  }
  GroupStatus status_of(const std::string& group) {
    auto r =
        run<Result<std::vector<GroupStatus>>>([&]() -> Awaitable<Result<std::vector<GroupStatus>>> {
          co_return co_await broker_->groups();
        });
    for (auto& s : r.value()) {
      if (s.name == group) return s;
    }
    throw std::runtime_error("no group " + group);
  }

  EventLoop loop_{1};
  std::thread thread_;
  ::stoa::test::ScratchDir scratch_{"stoa-broker"};
  BrokerOptions options_;
  std::shared_ptr<Broker> broker_;
};

TEST_P(BrokerContract, PublishedMessagesAreConsumedInOrderAndAcked) {
  open();
  ASSERT_TRUE(declare("billing", {"stoa.order"}));
  std::vector<Message> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(message("stoa.order", i));
    // One aggregate: order is promised per aggregate (Kafka orders per partition, and the
    // subject is the partition key), not across a topic's aggregates.
    sent.back().event.subject = "order-1";
    auto status = publish(sent.back());
    ASSERT_TRUE(status) << status.error().message;
  }
  auto c = consumer("billing");
  for (int i = 0; i < 20; ++i) {
    auto d = receive(*c);
    ASSERT_TRUE(d) << d.error().message;
    EXPECT_EQ(d->message.event, sent[i].event) << "message " << i;
    EXPECT_EQ(d->message.topic, "stoa.order");
    EXPECT_EQ(d->group, "billing");
    EXPECT_EQ(d->attempt, 1u);
    ASSERT_TRUE(ack(*c, *d));
  }
  auto none = receive(*c, 100ms);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::timeout);
  EXPECT_EQ(status_of("billing").lag(), 0u);
}

TEST_P(BrokerContract, AConsumerWaitingIsWokenByAPublish) {
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  auto c = consumer("g");
  auto pending = spawn<Result<Delivery>>(
      [&]() -> Awaitable<Result<Delivery>> { co_return co_await c->receive(30s); });
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(publish(message("t", 1)));
  ASSERT_EQ(pending.wait_for(20s), std::future_status::ready);
  auto d = pending.get();
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->message.event.subject, "item-1");
}

TEST_P(BrokerContract, EveryGroupGetsEveryMessageOfItsTopics) {
  open();
  ASSERT_TRUE(declare("a", {"orders"}));
  ASSERT_TRUE(declare("b", {"orders", "payments"}));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(publish(message("orders", i)));
  for (int i = 5; i < 8; ++i) ASSERT_TRUE(publish(message("payments", i)));
  // Waits long for each expected message (a Kafka consumer first has to join its group and
  // get its partitions), then briefly for one too many.
  auto drain = [&](const std::string& group, std::size_t expected) {
    auto c = consumer(group);
    std::vector<std::string> subjects;
    while (subjects.size() <= expected) {
      auto d = receive(*c, subjects.size() < expected ? 20s : 500ms);
      if (!d) break;
      subjects.push_back(d->message.event.subject);
      EXPECT_TRUE(ack(*c, *d));
    }
    return subjects;
  };
  EXPECT_EQ(drain("a", 5).size(), 5u);
  EXPECT_EQ(drain("b", 8).size(), 8u);
}

TEST_P(BrokerContract, NackRetriesWithBackoffThenDeadLettersAfterMaxAttempts) {
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  ASSERT_TRUE(publish(message("t", 7)));
  auto c = consumer("g");
  for (std::uint32_t attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    auto d = receive(*c);
    ASSERT_TRUE(d) << "attempt " << attempt << ": " << d.error().message;
    EXPECT_EQ(d->attempt, attempt);
    EXPECT_EQ(d->message.event.subject, "item-7");
    ASSERT_TRUE(nack(*c, *d, "payment gateway said 503"));
  }
  auto none = receive(*c, 300ms);
  EXPECT_FALSE(none) << "a dead letter was delivered again";
  auto dead = dead_letters("g");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].message.event.subject, "item-7");
  EXPECT_EQ(dead[0].attempts, options_.max_attempts);
  EXPECT_NE(dead[0].reason.find("payment gateway said 503"), std::string::npos) << dead[0].reason;
  EXPECT_EQ(status_of("g").dead, 1u);

  // An operator replays it: delivered again, attempts counted from 1.
  auto replayed = run<Status>([&]() -> Awaitable<Status> {
    co_return co_await broker_->replay_dead_letter("g", dead[0].tag);
  });
  ASSERT_TRUE(replayed) << replayed.error().message;
  auto again = receive(*c);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempt, 1u);
  ASSERT_TRUE(ack(*c, *again));
  EXPECT_TRUE(dead_letters("g").empty());
}

TEST_P(BrokerContract, ANackedMessageWaitsForItsDelay) {
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  ASSERT_TRUE(publish(message("t", 1)));
  auto c = consumer("g");
  auto d = receive(*c);
  ASSERT_TRUE(d);
  ASSERT_TRUE(nack(*c, *d, "later", 1h));
  EXPECT_FALSE(receive(*c, 200ms)) << "delivered before its retry delay";
  EXPECT_EQ(status_of("g").delayed, 1u);
}

TEST_P(BrokerContract, RejectDeadLettersAtOnceWithTheReason) {
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  ASSERT_TRUE(publish(message("t", 1)));
  auto c = consumer("g");
  auto d = receive(*c);
  ASSERT_TRUE(d);
  ASSERT_TRUE(reject(*c, *d, "unknown event type \"stoa.test.happened.v1\""));
  auto dead = dead_letters("g");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].reason, "unknown event type \"stoa.test.happened.v1\"");
  EXPECT_EQ(dead[0].attempts, 1u);
}

TEST_P(BrokerContract, AnUnackedMessageIsRedeliveredAfterTheVisibilityTimeout) {
  options_.visibility_timeout = 200ms;
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  ASSERT_TRUE(publish(message("t", 1)));
  auto c = consumer("g");
  auto first = receive(*c);
  ASSERT_TRUE(first);
  auto second = receive(*c);  // the consumer "hung": the lease expires
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->tag, first->tag);
  EXPECT_EQ(second->attempt, 2u);
  // The first lease is gone: it can no longer nack, but acking the message still counts.
  auto late = nack(*c, *first, "too late");
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Errc::conflict);
  ASSERT_TRUE(ack(*c, *second));
  EXPECT_FALSE(receive(*c, 400ms));
}

TEST_P(BrokerContract, PrefetchBoundsUnackedDeliveriesPerConsumer) {
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(publish(message("t", i)));
  auto c = consumer("g", 2);
  auto a = receive(*c);
  auto b = receive(*c);
  ASSERT_TRUE(a && b);
  auto blocked = receive(*c, 200ms);
  ASSERT_FALSE(blocked) << "a third delivery beyond prefetch 2";
  EXPECT_EQ(blocked.error().code, Errc::timeout);
  // Another consumer of the group is not bound by this one's prefetch.
  auto other = consumer("g", 2);
  EXPECT_TRUE(receive(*other));
  ASSERT_TRUE(ack(*c, *a));
  auto third = receive(*c);
  ASSERT_TRUE(third) << third.error().message;
}

TEST_P(BrokerContract, ClosingAConsumerReturnsItsDeliveries) {
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  ASSERT_TRUE(publish(message("t", 1)));
  auto first = consumer("g");
  auto d = receive(*first);
  ASSERT_TRUE(d);
  first->close();
  auto second = consumer("g");
  auto again = receive(*second, 5s);
  ASSERT_TRUE(again) << "the closed consumer's delivery was not returned";
  EXPECT_EQ(again->tag, d->tag);
  EXPECT_EQ(again->attempt, 1u) << "a returned delivery is not a failed attempt";
}

TEST_P(BrokerContract, ConcurrentConsumersGetEachMessageOnce) {
  options_.prefetch = 8;
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  constexpr int kMessages = 300;
  // Publishers run concurrently too (the embedded broker batches their syncs).
  std::vector<std::future<Status>> published;
  for (int i = 0; i < kMessages; ++i) {
    auto m = message("t", i);
    auto task = [this, m]() -> Awaitable<Status> { co_return co_await broker_->publish(m); };
    published.push_back(spawn<Status>(std::move(task)));
  }
  for (auto& p : published) {
    ASSERT_EQ(p.wait_for(60s), std::future_status::ready);
    auto status = p.get();
    ASSERT_TRUE(status) << status.error().message;
  }
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (int i = 0; i < 3; ++i) consumers.push_back(consumer("g"));
  std::mutex mutex;
  std::multiset<std::string> seen;
  std::vector<std::future<void>> loops;
  for (int i = 0; i < 6; ++i) {
    Consumer* c = consumers[i % 3].get();
    auto loop = [&, c]() -> Awaitable<void> {
      for (;;) {
        auto d = co_await c->receive(1s);
        if (!d) break;
        {
          std::lock_guard lock(mutex);
          seen.insert(d->message.event.subject);
        }
        auto acked = co_await c->ack(*d);
        if (!acked) break;
      }
    };
    loops.push_back(
        boost::asio::co_spawn(loop_.context(0), std::move(loop), boost::asio::use_future));
  }
  for (auto& l : loops) ASSERT_EQ(l.wait_for(60s), std::future_status::ready);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(seen.count("item-" + std::to_string(i)), 1u) << i;
}

TEST_P(BrokerContract, RefusesWhatItCannotCarry) {
  options_.max_message_bytes = 4096;
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  auto bad = message("t", 1);
  bad.event.id.clear();
  EXPECT_EQ(publish(bad).error().code, Errc::invalid_argument);
  auto big = message("t", 2);
  big.event.data = "\"" + std::string(8192, 'x') + "\"";
  EXPECT_EQ(publish(big).error().code, Errc::too_large);
  EXPECT_EQ(publish(message("", 3)).error().code, Errc::invalid_argument);
  const ConsumerOptions nobody{"nobody", 0};
  auto missing =
      run<Result<std::unique_ptr<Consumer>>>([&]() -> Awaitable<Result<std::unique_ptr<Consumer>>> {
        co_return co_await broker_->subscribe(nobody);
      });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_FALSE(declare("g", {}));
}

TEST_P(BrokerContract, StateSurvivesReopening) {
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(publish(message("t", i)));
  // Four aggregates: which one comes first is the backend's choice (Kafka: per partition),
  // so the test follows what it received rather than assuming item-0, item-1, item-2.
  std::set<std::string> untouched = {"item-0", "item-1", "item-2", "item-3"};
  std::string dead_subject, held_subject;
  {
    auto c = consumer("g");
    auto d0 = receive(*c);
    ASSERT_TRUE(d0);
    ASSERT_TRUE(ack(*c, *d0));  // done
    untouched.erase(d0->message.event.subject);
    auto d1 = receive(*c);
    ASSERT_TRUE(d1);
    ASSERT_TRUE(reject(*c, *d1, "poison"));  // dead
    dead_subject = d1->message.event.subject;
    untouched.erase(dead_subject);
    auto d2 = receive(*c);
    ASSERT_TRUE(d2);  // held, never acked: it goes back to the group
    held_subject = d2->message.event.subject;
    untouched.erase(held_subject);
  }
  ASSERT_EQ(untouched.size(), 1u);
  open();  // a new broker over the same data
  auto dead = dead_letters("g");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].message.event.subject, dead_subject);
  EXPECT_EQ(dead[0].reason, "poison");
  auto c = consumer("g");
  std::set<std::string> subjects;
  for (;;) {
    auto d = receive(*c, 300ms);
    if (!d) break;
    EXPECT_TRUE(subjects.insert(d->message.event.subject).second) << "delivered twice";
    ASSERT_TRUE(ack(*c, *d));
  }
  EXPECT_EQ(subjects, (std::set<std::string>{held_subject, *untouched.begin()}));
}

}  // namespace stoa::messaging::test
