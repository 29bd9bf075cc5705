#pragma once
// The outbox relay as a background task of the workers component: it runs
// messaging::Relay passes until there is nothing to publish, then waits
// outbox.poll_interval; every outbox.prune_interval it prunes sent outbox rows
// (outbox.sent_ttl) and old inbox records (workers.inbox_ttl).
//
// Metrics: stoa_outbox_events_total{stoa_outcome} (sent, failed) and the gauge
// stoa_outbox_pending_events (unsent rows, measured when pruning).
#include <chrono>
#include <memory>
#include <string>

#include "messaging/outbox.h"

namespace stoa {
class EventLoop;
}

namespace stoa::workers {

class OutboxRelay {
 public:
  // `telemetry` may be nullptr.
  OutboxRelay(std::shared_ptr<sql::Database> db, std::shared_ptr<messaging::Broker> broker,
              messaging::OutboxOptions options, std::chrono::milliseconds inbox_ttl,
              obs::Telemetry* telemetry);
  ~OutboxRelay();
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  // Runs on the loop's first thread until begin_shutdown().
  void start(EventLoop& loop);
  // Finishes the pass in progress, starts no other.
  void begin_shutdown();
  // 1 while a pass is in progress, else 0.
  std::size_t in_flight() const;

  struct State;  // outbox_relay.cpp's

 private:
  std::shared_ptr<State> state_;
};

}  // namespace stoa::workers
