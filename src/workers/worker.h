#pragma once
// The worker runtime: for each consumer group, `concurrency` receive loops over one
// consumer of the broker, each handing a delivery to the handler of its event type
// (handlers.h) and settling it by the result:
//
//   a type the group has no handler for               -> ack, no handler, no log line: the
//                                                        group is bound to whole topics and
//                                                        does not subscribe to that type
//                                                        (skipped; not a failure)
//   a handled type whose data its validator refuses   -> reject: dead-lettered with the reason
//   Ok                                                -> ack
//   Errc::invalid_argument                            -> reject: dead-lettered with the message
//   any other Error, or an exception                  -> nack: retried with the broker's
//                                                        backoff, dead-lettered after
//                                                        broker.max_attempts deliveries
//
// An envelope that does not decode (its type unreadable) never gets here: the broker
// dead-letters it in receive() (broker.h).
//
// Metrics: stoa_worker_messages_total{messaging_consumer_group_name, stoa_outcome} with
// stoa_outcome processed, retried, dead_lettered or skipped, and the gauge
// stoa_worker_consumer_lag_messages{messaging_consumer_group_name} (ready + in flight +
// delayed, from Broker::groups() every workers.lag_interval). Each delivery gets a span
// "handle <type>", a child of Delivery::trace (the broker's consumer span, itself a child of
// the producer's traceparent), so one trace runs from the request that appended the event
// to the handler's SQL.
//
// Shutdown: begin_shutdown() stops receiving; each loop finishes the delivery it holds.
// Whatever is still held when the process stops waiting (process.shutdown_timeout) goes
// back to the group when close() closes the consumers.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "messaging/broker.h"
#include "messaging/event_types.h"
#include "workers/handlers.h"

namespace stoa {
class ComponentHost;
}

namespace stoa::workers {

// [workers] in stoa.toml, plus broker.max_attempts (to tell a retry from a dead letter).
struct WorkerOptions {
  std::size_t concurrency = 8;
  std::size_t prefetch = 0;  // 0 = broker.prefetch
  std::uint32_t max_attempts = 5;
  std::chrono::milliseconds lag_interval{5'000};
  // How long one receive() waits before a loop looks at the shutdown flag again.
  std::chrono::milliseconds receive_wait{250};

  // Throws std::invalid_argument naming the key when a value is out of range.
  static WorkerOptions from_config(const Config& config);
};

// One consumer group's handlers, ready to run.
struct Group {
  std::string name;
  std::vector<std::string> topics;
  messaging::EventTypes types;
  std::map<std::string, Handler> handlers;  // by event type
};

// Makes the groups of `infos` (one per HandlerInfo::group), calling each make(host).
std::vector<Group> make_groups(const std::vector<HandlerInfo>& infos, ComponentHost& host);

class Worker {
 public:
  // `telemetry` may be nullptr (no metrics, no spans).
  Worker(std::shared_ptr<messaging::Broker> broker, WorkerOptions options,
         std::vector<Group> groups, obs::Telemetry* telemetry);
  ~Worker();  // close()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Declares every group (durable from then on) and subscribes a consumer to each.
  Awaitable<Status> declare();
  // Starts the receive loops, spread over the loop's threads, and the lag gauge. After
  // declare().
  void start(EventLoop& loop);
  // Stops receiving; loops finish the delivery they hold.
  void begin_shutdown();
  // Receive loops still running (0 once every one has finished after begin_shutdown()).
  std::size_t in_flight() const;
  // Closes the consumers: deliveries still held go back to their groups. Idempotent.
  void close();

  struct State;  // worker.cpp's

 private:
  std::shared_ptr<State> state_;
};

}  // namespace stoa::workers
