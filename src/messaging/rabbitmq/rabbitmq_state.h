#pragma once
// What the RabbitMQ broker and its consumers share (internal to src/messaging/rabbitmq).
// Everything guarded by `mutex` is touched by callers' threads and by the link's thread;
// Session calls happen only on the link's thread, never under `mutex`.
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "messaging/broker.h"
#include "messaging/cloudevents.h"
#include "messaging/rabbitmq/amqp_link.h"
#include "messaging/rabbitmq/topology.h"

namespace stoa::messaging::rabbitmq {

using Clock = std::chrono::steady_clock;
using Timer = boost::asio::steady_timer;

// A delivery a consumer's caller holds: its lease runs until `due`.
struct Held {
  Inbound in;
  Stamp stamp;
  std::uint32_t attempt = 1;
  Clock::time_point due;
};

struct ConsumerCore {
  std::string group;
  std::size_t prefetch = 0;
  std::uint16_t channel = 0;  // 0: not consuming (between connections)
  std::uint64_t generation = 0;
  std::deque<Inbound> buffered;        // delivered by RabbitMQ, not yet received
  std::map<std::uint64_t, Held> held;  // lease -> delivery
  std::vector<std::shared_ptr<Timer>> waiters;
  bool closed = false;
};

struct State {
  BrokerOptions options;
  cloudevents::Limits limits;
  AmqpUrl url;
  Topology topology;

  std::mutex mutex;
  std::map<std::string, std::set<std::string>> groups;   // declared here: name -> topics
  std::map<std::string, std::set<std::int64_t>> delays;  // group -> retry queues' delays (ms)
  std::set<std::shared_ptr<ConsumerCore>> consumers;
  std::uint64_t next_lease = 1;
  std::mt19937_64 random{std::random_device{}()};
  // Tags acked after their lease was lost (expired, or the connection dropped): when RabbitMQ
  // delivers them again to this process they are acked, not handed out (an ack counts).
  std::deque<std::uint64_t> acked_order;
  std::unordered_set<std::uint64_t> acked;
  bool closed = false;

  std::unique_ptr<AmqpLink> link;

  void remember_acked(std::uint64_t tag);
  // Wakes a consumer's waiting receive() calls (mutex held; the cancels are posted).
  static void wake(ConsumerCore& core);
  // The delays of the retry queues a group gets at declaration: backoff(1..max_attempts-1).
  std::set<std::int64_t> backoff_delays() const;
};

// --- link-thread work, shared by consumers and the broker ---------------------------------

// Declares a group's queues and bindings (and its retry queues for `delays`).
Status declare_topology(Session& s, const Topology& t, const std::string& group,
                        const std::set<std::string>& topics, const std::set<std::int64_t>& delays);
// Copies `held` to `queue` with `headers` changed, and once RabbitMQ confirms the copy acks
// the original; `done` gets the outcome (a failed copy returns the original to its queue).
void move_message(Session& s, const Held& held, const std::string& queue,
                  std::map<std::string, std::string> headers, Complete done);
// Retry after `delay` (0: straight back to the group queue), as failed delivery `attempt`.
void retry_message(State& state, Session& s, const std::string& group, const Held& held,
                   std::chrono::milliseconds delay, Complete done);
void dead_letter(State& state, Session& s, const std::string& group, const Held& held,
                 std::string reason, Complete done);
// Moves leases past their visibility timeout on (the link's on_tick).
void expire_leases(State& state, Session& s);

// Runs `job` on the link's thread and waits for it to call `complete`.
Awaitable<Status> on_link(std::shared_ptr<State> state,
                          std::function<void(Session&, Complete)> job);

std::unique_ptr<Consumer> make_consumer(std::shared_ptr<State> state,
                                        std::shared_ptr<ConsumerCore> core);

}  // namespace stoa::messaging::rabbitmq
