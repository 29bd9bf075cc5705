// stoa_events_bench: durable publish -> consume throughput and end-to-end latency through a
// broker, with confirmed publishes and manual acks. bench/events/run drives it.
//
//   stoa_events_bench --url embedded:///tmp/x --messages 50000 --publishers 64 --consumers 4
//
// Each publisher coroutine publishes its share and awaits each confirmation; each consumer
// coroutine receives and acks. The event's data carries the send time, so the consumer
// measures publish -> delivered latency. Prints one line of key=value figures.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "messaging/broker.h"
#include "runtime/event_loop.h"
#include "runtime/uuid.h"

namespace {

using namespace stoa;
using namespace stoa::messaging;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string url;
  long messages = 20000;
  long publishers = 64;
  long consumers = 4;
  long prefetch = 256;
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

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--url")
      args.url = argv[i + 1];
    else if (key == "--messages")
      args.messages = number(argv[i + 1]);
    else if (key == "--publishers")
      args.publishers = number(argv[i + 1]);
    else if (key == "--consumers")
      args.consumers = number(argv[i + 1]);
    else if (key == "--prefetch")
      args.prefetch = number(argv[i + 1]);
    else {
      std::cerr << "unknown option " << key << "\n";
      return 2;
    }
  }
  if (args.url.empty()) {
    std::cerr << "usage: stoa_events_bench --url URL [--messages N] [--publishers P] "
                 "[--consumers C] [--prefetch N]\n";
    return 2;
  }

  EventLoop loop(1);
  BrokerOptions options;
  options.url = args.url;
  options.prefetch = static_cast<std::size_t>(args.prefetch);
  auto opened = open_broker(options, loop, nullptr);
  if (!opened) {
    std::cerr << "cannot open the broker: " << opened.error().message << "\n";
    return 1;
  }
  std::shared_ptr<Broker> broker = std::move(opened).value();
  const std::string topic = "bench", group_name = "bench", source = "/bench",
                    type = "stoa.bench.sent.v1";
  const GroupSpec group{group_name, {topic}};

  std::atomic<long> published{0}, consumed{0}, failures{0};
  std::mutex latency_mutex;
  std::vector<double> latencies_ms;
  latencies_ms.reserve(static_cast<std::size_t>(args.messages));
  std::promise<void> all_consumed;
  std::promise<bool> declared;
  Clock::time_point start;

  auto& io = loop.context(0);
  auto declare = [&]() -> Awaitable<void> {
    // A network broker connects in the background: wait (up to 30 s) until it answers.
    for (int i = 0; i < 300; ++i) {
      auto up = co_await broker->ping();
      if (up) break;
      boost::asio::steady_timer pause(io, std::chrono::milliseconds(100));
      co_await pause.async_wait(boost::asio::use_awaitable);
    }
    auto status = co_await broker->declare_group(group);
    if (!status) std::cerr << "declare_group: " << status.error().message << "\n";
    declared.set_value(status.ok());
  };
  boost::asio::co_spawn(io, std::move(declare), boost::asio::detached);
  std::thread runner([&loop] { loop.run(); });
  if (!declared.get_future().get()) {
    std::cerr << "cannot declare the group\n";
    loop.stop();
    runner.join();
    return 1;
  }

  const ConsumerOptions consumer_options{group_name, 0};
  for (long c = 0; c < args.consumers; ++c) {
    auto consume = [&]() -> Awaitable<void> {
      auto consumer = co_await broker->subscribe(consumer_options);
      if (!consumer) {
        ++failures;
        co_return;
      }
      for (;;) {
        auto d = co_await (*consumer)->receive(std::chrono::seconds(30));
        if (!d) break;
        const double ms = static_cast<double>(now_ns() - std::stoll(d->message.event.data)) / 1e6;
        auto acked = co_await (*consumer)->ack(std::move(d).value());
        if (!acked) ++failures;
        {
          std::lock_guard lock(latency_mutex);
          latencies_ms.push_back(ms);
        }
        if (++consumed == args.messages) all_consumed.set_value();
      }
    };
    boost::asio::co_spawn(io, std::move(consume), boost::asio::detached);
  }

  start = Clock::now();
  const long share = args.messages / args.publishers;
  for (long p = 0; p < args.publishers; ++p) {
    const long count = p + 1 == args.publishers ? args.messages - share * p : share;
    auto publish = [&, count]() -> Awaitable<void> {
      for (long k = 0; k < count; ++k) {
        Message m;
        m.topic = topic;
        m.event.id = Uuid::v7().to_string();
        m.event.source = source;
        m.event.type = type;
        m.event.data = std::to_string(now_ns());
        m.event.has_data = true;
        auto status = co_await broker->publish(std::move(m));
        if (status) {
          ++published;
        } else {
          ++failures;
        }
      }
    };
    boost::asio::co_spawn(io, std::move(publish), boost::asio::detached);
  }

  auto done = all_consumed.get_future();
  const bool finished = done.wait_for(std::chrono::minutes(10)) == std::future_status::ready;
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  loop.stop();
  runner.join();
  broker->close();
  if (!finished || failures > 0) {
    std::cerr << "incomplete run: published=" << published << " consumed=" << consumed
              << " failures=" << failures << "\n";
    return 1;
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    const auto i = static_cast<std::size_t>(p * static_cast<double>(latencies_ms.size() - 1));
    return latencies_ms[i];
  };
  std::printf("messages=%ld seconds=%.3f throughput=%.0f p50_ms=%.2f p99_ms=%.2f\n", args.messages,
              seconds, static_cast<double>(args.messages) / seconds, pct(0.50), pct(0.99));
  return 0;
}
