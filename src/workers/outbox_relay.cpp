#include "workers/outbox_relay.h"

#include <unistd.h>

#include <atomic>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "data/sql/sql.h"
#include "messaging/inbox.h"
#include "observability/log.h"
#include "observability/telemetry.h"
#include "runtime/event_loop.h"
#include "runtime/uuid.h"

namespace stoa::workers {

namespace asio = boost::asio;

struct OutboxRelay::State {
  std::shared_ptr<sql::Database> db;
  messaging::OutboxOptions options;
  std::chrono::milliseconds inbox_ttl;
  messaging::Relay relay;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> busy{0};
  obs::Counter sent, failed;
  obs::Gauge pending;

  State(std::shared_ptr<sql::Database> database, std::shared_ptr<messaging::Broker> broker,
        messaging::OutboxOptions relay_options, std::chrono::milliseconds ttl, std::string owner)
      : db(database),
        options(relay_options),
        inbox_ttl(ttl),
        relay(std::move(database), std::move(broker), relay_options, std::move(owner)) {}
};

namespace {

// A relay's name in the leases it takes: which process holds a row, for an operator.
std::string relay_owner() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" +
         Uuid::v7().to_string().substr(24);
}

Awaitable<void> prune(OutboxRelay::State& state) {
  auto outbox = co_await state.relay.prune();
  auto inbox = co_await messaging::prune_inbox(*state.db, state.inbox_ttl, *state.options.clock);
  if (!outbox || !inbox) {
    obs::log(obs::Level::warn, "workers", "pruning the outbox or inbox failed",
             {{"error", !outbox ? outbox.error().message : inbox.error().message}});
  }
  auto status = co_await messaging::outbox_status(*state.db, *state.options.clock);
  if (status) state.pending.set(static_cast<double>(status->pending));
}

Awaitable<void> relay_loop(std::shared_ptr<OutboxRelay::State> state) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const Clock& clock = *state->options.clock;
  auto next_prune = clock.steady_now();
  bool failing = false;  // log a failure once per streak, not once per poll
  for (;;) {
    if (state->stopping.load()) break;
    state->busy.store(1);
    auto pass = co_await state->relay.run_once();
    state->busy.store(0);
    bool more = false;
    if (pass) {
      state->sent.inc(static_cast<double>(pass->sent));
      state->failed.inc(static_cast<double>(pass->failed));
      more = pass->claimed == state->options.batch_size;
      if (failing) obs::log(obs::Level::info, "workers", "the outbox relay works again");
      failing = false;
    } else if (!failing) {
      failing = true;
      obs::log(obs::Level::warn, "workers", "outbox relay pass failed; retrying every poll",
               {{"error", pass.error().message}});
    }
    if (clock.steady_now() >= next_prune) {
      next_prune = clock.steady_now() + state->options.prune_interval;
      co_await prune(*state);
    }
    if (!more) {
      timer.expires_after(state->options.poll_interval);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }
}

}  // namespace

OutboxRelay::OutboxRelay(std::shared_ptr<sql::Database> db,
                         std::shared_ptr<messaging::Broker> broker,
                         messaging::OutboxOptions options, std::chrono::milliseconds inbox_ttl,
                         obs::Telemetry* telemetry)
    : state_(std::make_shared<State>(std::move(db), std::move(broker), options, inbox_ttl,
                                     relay_owner())) {
  if (telemetry != nullptr) {
    auto& metrics = telemetry->metrics();
    const char* help = "Outbox events the relay published (sent) or failed to publish (failed).";
    state_->sent = metrics.counter("stoa_outbox_events_total", help, {{"stoa_outcome", "sent"}});
    state_->failed =
        metrics.counter("stoa_outbox_events_total", help, {{"stoa_outcome", "failed"}});
    state_->pending = metrics.gauge("stoa_outbox_pending_events",
                                    "Outbox events not yet published (measured when pruning).");
  }
}

OutboxRelay::~OutboxRelay() {
  begin_shutdown();
}

void OutboxRelay::start(EventLoop& loop) {
  obs::log(obs::Level::info, "workers", "outbox relay started", {{"owner", state_->relay.owner()}});
  asio::co_spawn(loop.context(0), relay_loop(state_), asio::detached);
}

void OutboxRelay::begin_shutdown() {
  state_->stopping.store(true);
}

std::size_t OutboxRelay::in_flight() const {
  return state_->busy.load();
}

}  // namespace stoa::workers
