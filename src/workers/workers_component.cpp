// The `workers` component (`stoa serve workers`, part of `stoa up`): the worker runtime over
// every registered handler, and the outbox relay (workers.relay). It opens the process's
// database and broker and applies the messaging schema's migrations.
#include <memory>
#include <stdexcept>

#include "data/sql/migrations.h"
#include "data/sql/sql.h"
#include "messaging/broker.h"
#include "observability/log.h"
#include "observability/telemetry.h"
#include "runtime/component.h"
#include "runtime/config.h"
#include "runtime/run_before_loop.h"
#include "workers/outbox_relay.h"
#include "workers/worker.h"

namespace stoa::workers {

namespace {

class WorkersComponent final : public Component {
 public:
  void start(ComponentHost& host) override {
    const Config& config = host.config();
    auto options = WorkerOptions::from_config(config);
    auto outbox_options = messaging::OutboxOptions::from_config(config);
    outbox_options.clock = &host.clock();
    auto db = sql::database(host);
    sql::apply_migrations(host, "messaging");
    auto broker = messaging::broker(host);

    auto handlers = registered_handlers();
    worker_ =
        std::make_unique<Worker>(broker, options, make_groups(handlers, host), &host.telemetry());
    Status declared = Ok{};
    run_before_loop(host.loop(),
                    [&]() -> Awaitable<void> { declared = co_await worker_->declare(); });
    if (!declared) {
      throw std::runtime_error("workers: cannot declare the consumer groups: " +
                               declared.error().message);
    }
    worker_->start(host.loop());
    obs::log(obs::Level::info, "workers", "handlers registered",
             {{"handlers", handlers.size()}, {"concurrency", options.concurrency}});

    if (config.boolean("workers.relay")) {
      relay_ = std::make_unique<OutboxRelay>(
          db, broker, outbox_options, config.duration("workers.inbox_ttl"), &host.telemetry());
      relay_->start(host.loop());
    }
  }

  void begin_shutdown() override {
    if (worker_) worker_->begin_shutdown();
    if (relay_) relay_->begin_shutdown();
  }

  std::size_t in_flight() const override {
    return (worker_ ? worker_->in_flight() : 0) + (relay_ ? relay_->in_flight() : 0);
  }

  void stop() override {
    if (relay_) relay_->begin_shutdown();
    if (worker_) worker_->close();  // what is still held goes back to its group
  }

 private:
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<OutboxRelay> relay_;
};

// After the data components (database, object store: order 200) and before the services
// and the edge, so that the groups are declared before anything is published.
[[maybe_unused]] const bool registered = register_component({
    .name = "workers",
    .description = "background workers: event handlers (consumer groups) and the outbox relay",
    .order = 300,
    .make = [] { return std::make_unique<WorkersComponent>(); },
});

}  // namespace

}  // namespace stoa::workers
