#pragma once
// The broker interface: what services and workers use, whatever `broker.url` names — the
// embedded durable log (the default), RabbitMQ or Kafka. docs/messaging.md explains it.
//
// Its shape is the common ground of the three engines:
// - publish() returns once the broker has the message durably (embedded: fsync; RabbitMQ:
//   a publisher confirm; Kafka: acks=all). A failed publish may or may not have happened:
//   publish again (the event id stays the same and consumers deduplicate on it).
// - A consumer group is declared durably (a queue bound to the topics; a Kafka group):
//   from then on it collects every message published to its topics, whether or not a
//   consumer is running. Every group gets every message; within a group each message goes
//   to one consumer at a time.
// - Delivery is at least once. A delivery is acked, nacked (retried after a delay that
//   grows exponentially; dead-lettered after max_attempts) or rejected (dead-lettered at
//   once). A delivery neither acked nor nacked within the visibility timeout, or held by a
//   consumer that closed or died, is delivered again.
// - prefetch bounds the deliveries one consumer holds unacknowledged; concurrency is how
//   many receive() loops a worker runs over it (consume.h).
//
// Coroutine methods take their arguments by value: they are held across suspension.
// Broker and Consumer methods are thread-safe; a Consumer's receive() resumes on the
// caller's executor.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messaging/event.h"
#include "runtime/async.h"
#include "runtime/clock.h"
#include "runtime/error.h"
#include "runtime/retry.h"

namespace stoa {
class ComponentHost;
class Config;
class EventLoop;
namespace obs {
class Telemetry;
}
}  // namespace stoa

namespace stoa::messaging {

// [broker] in stoa.toml.
struct BrokerOptions {
  std::string url = "embedded://data/events";
  std::uint32_t max_attempts = 5;  // deliveries of one message before it is dead-lettered
  std::chrono::milliseconds retry_delay{1'000};        // the first retry's delay; doubles
  std::chrono::milliseconds max_retry_delay{300'000};  // up to this
  std::chrono::milliseconds visibility_timeout{30'000};
  std::size_t prefetch = 64;
  std::size_t max_message_bytes = 1024 * 1024;        // the encoded CloudEvents envelope
  std::uint64_t segment_bytes = 64ull * 1024 * 1024;  // embedded: log segment size
  // The embedded broker's time: visibility deadlines, retry due times, dead-letter times.
  // (RabbitMQ and Kafka keep time on their servers.) Must outlive the broker.
  const Clock* clock = &Clock::real();

  // Throws std::invalid_argument naming the key when a value is out of range.
  static BrokerOptions from_config(const Config& config);
  // The redelivery policy: retry_delay doubling up to max_retry_delay, no jitter,
  // max_attempts deliveries (runtime/retry.h).
  RetryPolicy retry_policy() const;
  // The delay before retry number `attempt` (1 = after the first failed delivery):
  // retry_delay * 2^(attempt-1), at most max_retry_delay.
  std::chrono::milliseconds backoff(std::uint32_t attempt) const;
};

// A durable consumer group and the topics it is bound to (exact names).
struct GroupSpec {
  std::string name;
  std::vector<std::string> topics;
};

struct ConsumerOptions {
  std::string group;
  std::size_t prefetch = 0;  // 0 = BrokerOptions::prefetch
};

struct DeadLetter {
  std::uint64_t tag = 0;  // what replay_dead_letter() takes
  Message message;
  std::string reason;
  std::uint32_t attempts = 0;
  std::string time;  // when it was dead-lettered, RFC 3339
};

struct GroupStatus {
  std::string name;
  std::vector<std::string> topics;
  std::uint64_t ready = 0;      // waiting for a consumer
  std::uint64_t in_flight = 0;  // delivered, not yet acked
  std::uint64_t delayed = 0;    // waiting for a retry
  std::uint64_t dead = 0;       // in the dead-letter queue
  std::uint64_t lag() const { return ready + in_flight + delayed; }
};

class Consumer {
 public:
  // Returns what it holds unacknowledged to its group (close()).
  virtual ~Consumer() = default;

  // The next delivery. Waits while the group has nothing ready or this consumer holds
  // `prefetch` unacknowledged deliveries: Errc::timeout after `wait`, Errc::cancelled once
  // closed. A message that is not a valid CloudEvent never reaches the caller: the broker
  // dead-letters it with the reason.
  virtual Awaitable<Result<Delivery>> receive(std::chrono::milliseconds wait) = 0;
  // Done with it: it is not delivered to this group again.
  virtual Awaitable<Status> ack(Delivery delivery) = 0;
  // Failed; deliver it again after `delay` (nullopt: the exponential backoff), or
  // dead-letter it with `reason` when it has been delivered max_attempts times.
  virtual Awaitable<Status> nack(Delivery delivery, std::string reason,
                                 std::optional<std::chrono::milliseconds> delay = {}) = 0;
  // Cannot ever succeed (an invalid event of a type the consumer handles): dead-letter it
  // now with `reason`. A type the consumer does not handle is acked instead (not a failure).
  virtual Awaitable<Status> reject(Delivery delivery, std::string reason) = 0;
  // Stops receiving; deliveries not yet acked go back to the group at once. Idempotent.
  virtual void close() = 0;
};

class Broker {
 public:
  virtual ~Broker() = default;

  // OpenTelemetry's messaging.system: "embedded", "rabbitmq", "kafka".
  virtual std::string_view system() const = 0;

  // Returns once the broker holds the message durably (see above). Errc::invalid_argument
  // for an event that is not a valid CloudEvent or an empty topic, Errc::too_large beyond
  // max_message_bytes, Errc::unavailable or Errc::io when the broker cannot take it.
  virtual Awaitable<Status> publish(Message message) = 0;
  // Creates the group, or adds topics to it; idempotent. Durable once it returns.
  virtual Awaitable<Status> declare_group(GroupSpec group) = 0;
  // A consumer of a declared group (Errc::not_found otherwise).
  virtual Awaitable<Result<std::unique_ptr<Consumer>>> subscribe(ConsumerOptions options) = 0;

  // The group's dead-letter queue, oldest first, at most `limit` entries.
  virtual Awaitable<Result<std::vector<DeadLetter>>> dead_letters(std::string group,
                                                                  std::size_t limit) = 0;
  // Puts a dead letter back into its group with its attempts reset (Errc::not_found when
  // the group has no such dead letter).
  virtual Awaitable<Status> replay_dead_letter(std::string group, std::uint64_t tag) = 0;
  virtual Awaitable<Result<std::vector<GroupStatus>>> groups() = 0;

  // For readiness: Ok when the broker takes publishes.
  virtual Awaitable<Status> ping() = 0;
  // Finishes what was submitted and releases the broker (files, connections). Idempotent.
  virtual void close() = 0;
};

// For adapters: Errc::invalid_argument unless `name` (a group's or a topic's) is 1 to
// `max_bytes` bytes without spaces or control characters; `what` names it in the message.
Status check_name(std::string_view what, std::string_view name, std::size_t max_bytes);
// The same for a group's name and each of its topics, of which it needs at least one.
Status check_group(const GroupSpec& group, std::size_t max_name_bytes);

// Picks the adapter by the URL's scheme: embedded://, amqp:// (RabbitMQ) or kafka:// (Kafka);
// Errc::invalid_argument for any other.
Result<std::shared_ptr<Broker>> open_broker(const BrokerOptions& options, EventLoop& loop,
                                            obs::Telemetry* telemetry);

// The process's one broker, shared by its components, with a readiness check "broker".
// Throws std::runtime_error when it cannot be opened.
std::shared_ptr<Broker> broker(ComponentHost& host);

}  // namespace stoa::messaging
