#pragma once
// One connection to RabbitMQ, owned by a thread of its own: rabbitmq-c is blocking, so no
// event-loop thread ever calls it. Work is handed to that thread as jobs (AmqpLink::run);
// a job talks to the broker through a Session, synchronously, and reports back through
// callbacks that the adapter turns into coroutine completions (messaging/completion.h).
//
// The link keeps itself connected: when the connection fails it fails what was pending
// (publishes awaiting their confirm get Errc::unavailable: they may or may not have
// happened), reconnects with exponential backoff (100 ms doubling to 5 s) and calls
// `on_connect` again, where the adapter re-declares its topology and re-subscribes. While it
// is down, jobs are refused at once with Errc::unavailable — a publish never waits for the
// broker to come back. rabbitmq-c's types stay in amqp_link.cpp.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "messaging/completion.h"
#include "messaging/rabbitmq/amqp_url.h"
#include "runtime/error.h"

namespace stoa::messaging::rabbitmq {

// What Stoa puts in and reads from an AMQP message: the body (the CloudEvents envelope), the
// string-valued headers, and a few basic properties. Headers of other types are skipped.
struct AmqpMessage {
  std::string body;
  std::map<std::string, std::string> headers;
  std::string message_id;
  std::string type;
  std::string content_type;
};

// A message delivered to a consumer (basic.deliver) or fetched (basic.get).
struct Inbound {
  AmqpMessage message;
  std::string routing_key;
  std::uint64_t delivery_tag = 0;
  bool redelivered = false;
  std::uint16_t channel = 0;
  std::uint64_t generation = 0;  // which connection it came on: tags are valid on it only
};

// Arguments of a queue that holds messages for a while and then sends them on: a delay
// queue (x-message-ttl, dead-lettered through the default exchange to `route_to`).
struct QueueArgs {
  std::int64_t message_ttl_ms = -1;  // -1: none
  std::string route_to;              // "": no dead-letter routing
};

// Blocking calls on the link's thread, only from inside a job or a hook. A failure of the
// connection itself returns Errc::unavailable and makes the link reconnect.
class Session {
 public:
  virtual ~Session() = default;
  virtual std::uint64_t generation() const = 0;

  // A durable topic exchange.
  virtual Status declare_exchange(const std::string& name) = 0;
  // A durable queue; returns the number of messages ready in it. `passive`: only checks it
  // exists (Errc::not_found otherwise). Errc::conflict when it exists with other arguments.
  virtual Result<std::uint32_t> declare_queue(const std::string& name, const QueueArgs& args,
                                              bool passive) = 0;
  virtual Status bind(const std::string& queue, const std::string& exchange,
                      const std::string& routing_key) = 0;

  // Persistent publish; `done` is called on this thread once the broker confirms it (Ok),
  // refuses it, or the confirm does not come within the bound (Errc::unavailable).
  virtual void publish(const std::string& exchange, const std::string& routing_key,
                       const AmqpMessage& message, Complete done) = 0;

  // A consumer on a channel of its own with basic.qos `prefetch`: `sink` gets each delivery
  // (on this thread). Returns the channel, which identifies the consumer.
  virtual Result<std::uint16_t> consume(const std::string& queue, std::uint16_t prefetch,
                                        std::function<void(Inbound)> sink) = 0;
  // Closes the consumer's channel: RabbitMQ returns what it held unacknowledged to the queue.
  virtual void cancel(std::uint16_t channel) = 0;
  // Settle a delivery on the channel and connection it came on (Errc::unavailable when
  // those are gone: RabbitMQ has already returned it to its queue).
  virtual Status ack(const Inbound& delivery) = 0;
  virtual Status requeue(const Inbound& delivery) = 0;

  // Fetches up to `limit` messages from `queue` without consuming them: they stay held
  // until end_browse(), which acks those listed in `remove` and returns the rest to the
  // queue in their order.
  virtual Result<std::vector<Inbound>> browse(const std::string& queue, std::size_t limit) = 0;
  virtual Status end_browse(const std::vector<std::uint64_t>& remove) = 0;
};

class AmqpLink {
 public:
  struct Hooks {
    // After each (re)connect, before any job; an error drops the connection and retries.
    std::function<Status(Session&)> on_connect;
    // After the connection is lost (deliveries in hand are void now).
    std::function<void()> on_disconnect;
    // Every pass of the thread's loop, at least every 50 ms while connected.
    std::function<void(Session&)> on_tick;
  };
  using Job = std::function<void(Session&)>;

  AmqpLink(AmqpUrl url, Hooks hooks);
  ~AmqpLink();  // stop()

  // Runs `job` on the link's thread while connected; otherwise (or once stopped) calls
  // `refused` with Errc::unavailable (or Errc::cancelled), on that thread or this one.
  void run(Job job, std::function<void(Error)> refused);
  bool connected() const;
  // Blocks until the first connection attempt has ended, at most `timeout`: calls made right
  // after opening then find the link up instead of failing with "not connected yet".
  void wait_first_attempt(std::chrono::milliseconds timeout);
  // Why the link is down ("" while connected).
  std::string last_error() const;
  // Fails what is pending, closes the connection, joins the thread. Idempotent.
  void stop();

  // How long a publish waits for its confirm before it counts as failed.
  static constexpr std::chrono::seconds confirm_timeout{10};

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stoa::messaging::rabbitmq
