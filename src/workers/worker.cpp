#include "workers/worker.h"

#include <atomic>
#include <exception>
#include <mutex>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "observability/log.h"
#include "observability/telemetry.h"
#include "runtime/config.h"
#include "runtime/event_loop.h"

namespace stoa::workers {

namespace asio = boost::asio;
using messaging::Delivery;

namespace {

// A group at run time: its consumer and its counters.
struct Running {
  Group group;
  std::unique_ptr<messaging::Consumer> consumer;
  obs::Counter processed, retried, dead_lettered, skipped;
  obs::Gauge lag;
};

// The handler's span, made outside the coroutine: GCC 12 warns falsely about a coroutine
// frame holding an obs::Span (docs/runtime.md).
std::unique_ptr<obs::Span> handler_span(obs::Telemetry* telemetry, const Delivery& delivery) {
  if (telemetry == nullptr) return nullptr;
  auto span = std::make_unique<obs::Span>(telemetry->tracer(), delivery.trace,
                                          "handle " + delivery.message.event.type);
  span->set_attribute("messaging.consumer.group.name", delivery.group);
  span->set_attribute("messaging.message.id", delivery.message.event.id);
  span->set_attribute("stoa.delivery.attempt", static_cast<std::int64_t>(delivery.attempt));
  return span;
}

}  // namespace

struct Worker::State {
  std::shared_ptr<messaging::Broker> broker;
  WorkerOptions options;
  obs::Telemetry* telemetry = nullptr;
  std::vector<std::shared_ptr<Running>> running;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> loops{0};
  std::once_flag closed;

  void log(obs::Level level, std::string_view msg, const Delivery& delivery,
           const std::string& detail) {
    obs::log(level, "workers", msg,
             {{"group", delivery.group},
              {"type", delivery.message.event.type},
              {"event_id", delivery.message.event.id},
              {"attempt", static_cast<std::int64_t>(delivery.attempt)},
              {"reason", detail}},
             &delivery.trace);
  }
};

WorkerOptions WorkerOptions::from_config(const Config& config) {
  WorkerOptions options;
  options.concurrency = static_cast<std::size_t>(config.integer_in("workers.concurrency", 1, 1024));
  options.prefetch = static_cast<std::size_t>(config.integer_in("workers.prefetch", 0, 65535));
  options.max_attempts =
      static_cast<std::uint32_t>(config.integer_in("broker.max_attempts", 1, 1000));
  options.lag_interval = config.duration("workers.lag_interval");
  if (options.lag_interval < std::chrono::milliseconds(100)) {
    throw std::invalid_argument("workers.lag_interval must be at least 100ms");
  }
  return options;
}

std::vector<Group> make_groups(const std::vector<HandlerInfo>& infos, ComponentHost& host) {
  std::vector<Group> groups;
  for (const auto& info : infos) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const Group& g) { return g.name == info.group; });
    if (it == groups.end()) {
      groups.push_back(Group{info.group, {}, {}, {}});
      it = groups.end() - 1;
    }
    if (std::find(it->topics.begin(), it->topics.end(), info.topic) == it->topics.end()) {
      it->topics.push_back(info.topic);
    }
    it->types.add(info.type, info.validator);
    it->handlers.emplace(info.type, info.make(host));
  }
  return groups;
}

namespace {

// Settles one delivery by what its handler said.
Awaitable<void> handle(std::shared_ptr<Worker::State> state, std::shared_ptr<Running> run,
                       Delivery delivery);

}  // namespace

Worker::Worker(std::shared_ptr<messaging::Broker> broker, WorkerOptions options,
               std::vector<Group> groups, obs::Telemetry* telemetry)
    : state_(std::make_shared<State>()) {
  state_->broker = std::move(broker);
  state_->options = options;
  state_->telemetry = telemetry;
  for (auto& group : groups) {
    auto run = std::make_shared<Running>();
    run->group = std::move(group);
    if (telemetry != nullptr) {
      auto& metrics = telemetry->metrics();
      auto counter = [&](const char* outcome) {
        return metrics.counter(
            "stoa_worker_messages_total",
            "Deliveries handled by the workers, by outcome (processed, "
            "retried, dead_lettered, skipped).",
            {{"messaging_consumer_group_name", run->group.name}, {"stoa_outcome", outcome}});
      };
      run->processed = counter("processed");
      run->retried = counter("retried");
      run->dead_lettered = counter("dead_lettered");
      run->skipped = counter("skipped");
      run->lag = metrics.gauge("stoa_worker_consumer_lag_messages",
                               "Messages of the group not yet acked: ready, in flight and "
                               "delayed for a retry.",
                               {{"messaging_consumer_group_name", run->group.name}});
    }
    state_->running.push_back(std::move(run));
  }
}

Worker::~Worker() {
  close();
}

Awaitable<Status> Worker::declare() {
  for (auto& run : state_->running) {
    // Named before the co_await (GCC 12, docs/runtime.md).
    messaging::GroupSpec spec;
    spec.name = run->group.name;
    spec.topics = run->group.topics;
    auto declared = co_await state_->broker->declare_group(std::move(spec));
    if (!declared) co_return declared.error();
    messaging::ConsumerOptions options;
    options.group = run->group.name;
    options.prefetch = state_->options.prefetch;
    auto consumer = co_await state_->broker->subscribe(std::move(options));
    if (!consumer) co_return consumer.error();
    run->consumer = std::move(consumer).value();
  }
  co_return Ok{};
}

namespace {

Awaitable<void> receive_loop(std::shared_ptr<Worker::State> state, std::shared_ptr<Running> run) {
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    if (state->stopping.load()) break;
    auto delivery = co_await run->consumer->receive(state->options.receive_wait);
    if (!delivery) {
      if (delivery.error().code == Errc::timeout) continue;
      if (delivery.error().code == Errc::cancelled) break;
      obs::log(obs::Level::warn, "workers", "receive failed; retrying in 1s",
               {{"group", run->group.name}, {"error", delivery.error().message}});
      asio::steady_timer pause(executor, std::chrono::seconds(1));
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    co_await handle(state, run, std::move(delivery).value());
  }
  state->loops.fetch_sub(1);
}

Awaitable<void> lag_loop(std::shared_ptr<Worker::State> state) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  for (;;) {
    if (state->stopping.load()) break;
    auto groups = co_await state->broker->groups();
    if (groups) {
      for (const auto& status : *groups) {
        for (auto& run : state->running) {
          if (run->group.name == status.name) run->lag.set(static_cast<double>(status.lag()));
        }
      }
    }
    timer.expires_after(state->options.lag_interval);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

Awaitable<Status> settle(Worker::State& state, Running& run, const Delivery& delivery,
                         const Status& result) {
  auto& consumer = *run.consumer;
  if (result) {
    run.processed.inc();
    co_return co_await consumer.ack(delivery);
  }
  const std::string& reason = result.error().message;
  if (result.error().code == Errc::invalid_argument) {
    run.dead_lettered.inc();
    state.log(obs::Level::warn, "handler refused the event; dead-lettered", delivery, reason);
    co_return co_await consumer.reject(delivery, reason);
  }
  if (delivery.attempt >= state.options.max_attempts) {
    run.dead_lettered.inc();
    state.log(obs::Level::warn, "handler failed on the last attempt; dead-lettered", delivery,
              reason);
  } else {
    run.retried.inc();
    state.log(obs::Level::info, "handler failed; retrying with backoff", delivery, reason);
  }
  co_return co_await consumer.nack(delivery, reason);
}

Awaitable<void> handle(std::shared_ptr<Worker::State> state, std::shared_ptr<Running> run,
                       Delivery delivery) {
  Status result = Ok{};
  if (!run->group.types.contains(delivery.message.event.type)) {
    // A group is bound to whole topics, so it also receives the topic's other types: not
    // subscribing to one is no failure. Acked without a handler or a log line, so that the
    // dead-letter queue means "something went wrong" (an undecodable envelope, whose type
    // cannot be read, never gets here: the broker dead-letters it in receive()).
    run->skipped.inc();
    auto acked = co_await run->consumer->ack(delivery);
    if (!acked) {
      state->log(obs::Level::warn, "could not settle the delivery", delivery,
                 acked.error().message);
    }
    co_return;
  }
  auto checked = run->group.types.check(delivery.message.event);
  if (!checked) {
    // A type the group handles, with data its validator refuses: retrying cannot fix it, so
    // it is dead-lettered now with the registry's reason.
    run->dead_lettered.inc();
    state->log(obs::Level::warn, "event refused; dead-lettered", delivery, checked.error().message);
    auto rejected = co_await run->consumer->reject(delivery, checked.error().message);
    (void)rejected;
    co_return;
  }
  auto span = handler_span(state->telemetry, delivery);
  Delivery for_handler = delivery;
  if (span) for_handler.trace = span->context();
  const Handler& handler = run->group.handlers.at(delivery.message.event.type);
  try {
    result = co_await handler(for_handler);
  } catch (const std::exception& e) {
    result = Error{Errc::internal, std::string("the handler threw: ") + e.what()};
  }
  if (span) {
    if (result) {
      span->set_ok();
    } else {
      span->set_error(result.error().message);
    }
    span->end();
  }
  auto settled = co_await settle(*state, *run, delivery, result);
  if (!settled) {
    // A lease that expired meanwhile (Errc::conflict): the broker delivers it again and
    // the inbox makes that harmless.
    state->log(obs::Level::warn, "could not settle the delivery", delivery,
               settled.error().message);
  }
}

}  // namespace

void Worker::start(EventLoop& loop) {
  std::size_t next = 0;
  for (auto& run : state_->running) {
    if (!run->consumer) throw std::logic_error("Worker::start() before declare()");
    for (std::size_t i = 0; i < state_->options.concurrency; ++i) {
      state_->loops.fetch_add(1);
      asio::co_spawn(loop.context(next++ % loop.size()), receive_loop(state_, run), asio::detached);
    }
  }
  if (state_->telemetry != nullptr && !state_->running.empty()) {
    asio::co_spawn(loop.context(0), lag_loop(state_), asio::detached);
  }
}

void Worker::begin_shutdown() {
  state_->stopping.store(true);
}

std::size_t Worker::in_flight() const {
  return state_->loops.load();
}

void Worker::close() {
  state_->stopping.store(true);
  std::call_once(state_->closed, [this] {
    for (auto& run : state_->running) {
      if (run->consumer) run->consumer->close();
    }
  });
}

}  // namespace stoa::workers
