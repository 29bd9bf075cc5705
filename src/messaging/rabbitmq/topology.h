#pragma once
// What the RabbitMQ adapter declares and how a Stoa message looks on the wire
// (docs/messaging.md, "RabbitMQ"). With namespace NS (amqp://…?namespace=NS, default stoa):
//
//   NS.events                   durable topic exchange; a publish's routing key is its topic
//   NS.group.<group>            durable queue per consumer group, bound to its topics
//   NS.retry.<ms>ms.<group>     durable delay queue: x-message-ttl <ms>, dead-lettered through
//                               the default exchange back to NS.group.<group>
//   NS.dead.<group>             durable dead-letter queue
//
// Each kind has its own prefix, so no group name can make two names collide.
#include <chrono>
#include <cstdint>
#include <string>

#include "messaging/event.h"
#include "messaging/rabbitmq/amqp_link.h"

namespace stoa::messaging::rabbitmq {

// Headers Stoa reads back (string values; numbers in decimal).
namespace header {
inline constexpr const char* topic = "stoa-topic";  // the topic it was published to
inline constexpr const char* tag = "stoa-tag";      // the message's identity across copies
inline constexpr const char* deliveries = "stoa-deliveries";  // failed deliveries so far
inline constexpr const char* reason = "stoa-reason";          // dead letters: why
inline constexpr const char* dead_at = "stoa-dead-at";        // dead letters: when (RFC 3339)
}  // namespace header

struct Topology {
  std::string ns;

  std::string exchange() const { return ns + ".events"; }
  std::string group_queue(const std::string& group) const { return ns + ".group." + group; }
  std::string dead_queue(const std::string& group) const { return ns + ".dead." + group; }
  std::string retry_queue(const std::string& group, std::chrono::milliseconds delay) const {
    return ns + ".retry." + std::to_string(delay.count()) + "ms." + group;
  }
};

// The AMQP message for a first publish of `envelope` (the encoded CloudEvent).
AmqpMessage outbound(const Message& message, std::string envelope, std::uint64_t tag);

// What Stoa knows of a delivered message from its headers.
struct Stamp {
  std::string topic;
  std::uint64_t tag = 0;
  std::uint32_t deliveries = 0;  // failed deliveries before this one
};
Stamp stamp_of(const Inbound& in);

}  // namespace stoa::messaging::rabbitmq
