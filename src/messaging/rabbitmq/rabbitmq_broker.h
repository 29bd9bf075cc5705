#pragma once
// The RabbitMQ adapter (`amqp://user:password@host:port/vhost?namespace=NS`): the Broker
// interface over a topic exchange, a durable queue per consumer group, publisher confirms,
// manual acks with basic.qos prefetch, delay queues for retries and a dead-letter queue per
// group (topology.h). rabbitmq-c runs on a thread of its own (amqp_link.h); coroutines resume
// on their own executors. docs/messaging.md says what maps how and what differs from the
// embedded broker.
#include <memory>

#include "messaging/broker.h"

namespace stoa::messaging::rabbitmq {

// Starts connecting in the background and returns at once: until RabbitMQ answers, ping()
// and publish() report Errc::unavailable. Errc::invalid_argument for a bad URL.
Result<std::shared_ptr<Broker>> open_rabbitmq(const BrokerOptions& options);

}  // namespace stoa::messaging::rabbitmq
