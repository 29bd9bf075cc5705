// stoa_outbox_bench: what the transactional outbox costs. The same N events go from
// producers to an acking consumer twice, on the embedded broker and SQLite in DIR:
//
//   direct   each producer publishes and awaits the confirmation (no database at all);
//   outbox   each producer appends its events in a committed SQL transaction, a relay
//            publishes them (messaging::Relay passes back to back), the consumer acks.
//
// Throughput is N over the time from the first send to the last ack. Prints one line:
//   direct_msgs_per_s=… outbox_msgs_per_s=… ratio=…   (ratio = outbox / direct)
//
//   stoa_outbox_bench --dir /tmp/x --messages 20000 --producers 16 --per-tx 1 --consumers 4
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "data/sql/migrations.h"
#include "data/sql/sql.h"
#include "messaging/embedded/embedded_broker.h"
#include "messaging/outbox.h"
#include "runtime/event_loop.h"
#include "runtime/uuid.h"

namespace {

using namespace stoa;
using namespace stoa::messaging;
using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;

struct Args {
  std::string dir;
  long messages = 20000;
  long producers = 16;
  long per_tx = 1;
  long consumers = 4;
};

long number(const char* text) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0) {
    std::cerr << "not a positive integer: " << text << "\n";
    std::exit(2);
  }
  return value;
}

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "stoa_outbox_bench: " << what << "\n";
  std::exit(1);
}

Message event(long n) {
  Message m;
  m.topic = "stoa.bench";
  m.event.id = Uuid::v7().to_string();
  m.event.source = "/stoa/bench";
  m.event.type = "stoa.bench.happened.v1";
  m.event.subject = "aggregate-" + std::to_string(n % 64);
  m.event.data = "{\"n\":" + std::to_string(n) + "}";
  m.event.has_data = true;
  return m;
}

// What both modes share: the loop, the broker, the consumers counting acks.
struct Run {
  EventLoop loop{2};
  std::shared_ptr<Broker> broker;
  std::shared_ptr<sql::Database> db;
  std::atomic<long> acked{0};
  std::atomic<bool> producing_failed{false};
  std::promise<void> all_acked;
  long target = 0;

  Awaitable<void> consume(std::shared_ptr<Consumer> consumer) {
    for (;;) {
      auto delivery = co_await consumer->receive(std::chrono::seconds(1));
      if (!delivery) {
        if (delivery.error().code == Errc::timeout) continue;
        co_return;
      }
      auto acked_now = co_await consumer->ack(*delivery);
      if (!acked_now) fail("ack: " + acked_now.error().message);
      if (acked.fetch_add(1) + 1 == target) all_acked.set_value();
    }
  }
};

Awaitable<void> publish_direct(Run& run, long first, long count) {
  for (long n = first; n < first + count; ++n) {
    auto m = event(n);
    auto published = co_await run.broker->publish(std::move(m));
    if (!published) fail("publish: " + published.error().message);
  }
}

Awaitable<void> append_through_outbox(Run& run, long first, long count, long per_tx) {
  for (long n = first; n < first + count;) {
    auto begun = co_await run.db->begin();
    if (!begun) fail("begin: " + begun.error().message);
    const long end = std::min(first + count, n + per_tx);
    for (; n < end; ++n) {
      auto m = event(n);
      auto appended = co_await append(**begun, std::move(m));
      if (!appended) fail("append: " + appended.error().message);
    }
    auto committed = co_await (*begun)->commit();
    if (!committed) fail("commit: " + committed.error().message);
  }
}

Awaitable<void> relay_until_done(Run& run, std::shared_ptr<Relay> relay) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer idle(executor);
  while (run.acked.load() < run.target) {
    auto pass = co_await relay->run_once();
    if (!pass) fail("relay: " + pass.error().message);
    if (pass->claimed == 0) {
      idle.expires_after(std::chrono::milliseconds(1));
      co_await idle.async_wait(asio::use_awaitable);
    }
  }
}

// `make` returns the awaitable of a plain coroutine (its arguments are copied into it).
template <class F>
void on_loop(Run& run, std::size_t context, F make) {
  asio::co_spawn(run.loop.context(context), make(), asio::detached);
}

double measure(const Args& args, bool through_outbox) {
  const std::string dir = args.dir + (through_outbox ? "/outbox" : "/direct");
  std::filesystem::create_directories(dir);
  Run run;
  run.target = args.messages;
  std::thread thread([&] { run.loop.run(); });
  BrokerOptions broker_options;
  broker_options.prefetch = 256;
  auto opened = embedded::open_embedded(broker_options, dir + "/events");
  if (!opened) fail("broker: " + opened.error().message);
  run.broker = std::move(opened).value();
  std::shared_ptr<Relay> relay;
  auto setup = std::make_shared<std::promise<std::vector<std::shared_ptr<Consumer>>>>();
  auto setup_done = setup->get_future();
  auto prepare = [&run, &args, &dir, through_outbox, setup]() -> Awaitable<void> {
    const GroupSpec spec{"bench", {"stoa.bench"}};
    auto declared = co_await run.broker->declare_group(spec);
    if (!declared) fail("declare: " + declared.error().message);
    if (through_outbox) {
      sql::DatabaseOptions db_options;
      db_options.url = "sqlite://" + dir + "/stoa.db";
      auto db = sql::open_database(db_options, run.loop, nullptr);
      if (!db) fail("database: " + db.error().message);
      run.db = std::move(db).value();
      for (const auto& set : sql::registered_migrations()) {
        if (set.schema != "messaging") continue;
        auto applied = co_await sql::apply_migrations(*run.db, set);
        if (!applied) fail("migrations: " + applied.error().message);
      }
    }
    std::vector<std::shared_ptr<Consumer>> consumers;
    for (long i = 0; i < args.consumers; ++i) {
      const ConsumerOptions options{"bench", 0};
      auto consumer = co_await run.broker->subscribe(options);
      if (!consumer) fail("subscribe: " + consumer.error().message);
      consumers.push_back(std::move(consumer).value());
    }
    setup->set_value(std::move(consumers));
  };
  // prepare captures: it must outlive its coroutine, so it is called here, not copied.
  asio::co_spawn(run.loop.context(0), prepare(), asio::detached);
  auto consumers = setup_done.get();
  if (through_outbox) {
    OutboxOptions outbox;
    outbox.batch_size = 1024;
    relay = std::make_shared<Relay>(run.db, run.broker, outbox, "bench-relay");
  }

  const auto start = Clock::now();
  for (std::size_t i = 0; i < consumers.size(); ++i) {
    on_loop(run, i % 2, [&run, c = consumers[i]] { return run.consume(c); });
  }
  if (relay) on_loop(run, 1, [&run, relay] { return relay_until_done(run, relay); });
  const long share = args.messages / args.producers;
  for (long p = 0; p < args.producers; ++p) {
    const long first = p * share;
    const long count = p + 1 == args.producers ? args.messages - first : share;
    if (through_outbox) {
      on_loop(run, p % 2, [&run, first, count, &args] {
        return append_through_outbox(run, first, count, args.per_tx);
      });
    } else {
      on_loop(run, p % 2, [&run, first, count] { return publish_direct(run, first, count); });
    }
  }
  auto done = run.all_acked.get_future();
  if (done.wait_for(std::chrono::minutes(10)) != std::future_status::ready) fail("timed out");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& c : consumers) c->close();
  run.broker->close();
  if (run.db) run.db->close();
  run.loop.stop();
  thread.join();
  return static_cast<double>(args.messages) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--dir") {
      args.dir = argv[i + 1];
    } else if (flag == "--messages") {
      args.messages = number(argv[i + 1]);
    } else if (flag == "--producers") {
      args.producers = number(argv[i + 1]);
    } else if (flag == "--per-tx") {
      args.per_tx = number(argv[i + 1]);
    } else if (flag == "--consumers") {
      args.consumers = number(argv[i + 1]);
    } else {
      std::cerr << "unknown option " << flag << "\n";
      return 2;
    }
  }
  if (args.dir.empty() || argc % 2 == 0) {
    std::cerr << "usage: stoa_outbox_bench --dir DIR [--messages N] [--producers P] "
                 "[--per-tx K] [--consumers C]\n";
    return 2;
  }
  if (args.producers > args.messages) args.producers = args.messages;
  const double direct = measure(args, false);
  const double outbox = measure(args, true);
  std::printf("direct_msgs_per_s=%.0f outbox_msgs_per_s=%.0f ratio=%.2f\n", direct, outbox,
              outbox / direct);
  return 0;
}
