#pragma once
// The Kafka adapter (`kafka://host:port[,host:port…][?option=value&…]`), on librdkafka. Kafka
// stays inside this folder's .cpp files; docs/messaging.md ("Kafka") describes the layout:
//   - every topic is a Kafka topic; a message's key is its event's subject (the aggregate),
//     so one aggregate's events stay in one partition, in order;
//   - a group is a Kafka consumer group that commits an offset only when every delivery
//     before it in that partition was settled; its retries go through `<group>.retry` and
//     its dead letters to `<group>.dlq`; the group → topics bindings live in the compacted
//     topic `stoa.groups`.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "messaging/broker.h"

namespace stoa::messaging::kafka {

// What the URL says.
struct KafkaSettings {
  std::string bootstrap;  // "host:port,host:port"
  // librdkafka properties passed through as they are (security.protocol, sasl.*, ssl.*,
  // message.timeout.ms, …): every `?key=value` whose key holds a dot.
  std::vector<std::pair<std::string, std::string>> properties;
  int partitions = -1;          // for topics the adapter creates; -1: the cluster's default
  int replication_factor = -1;  // likewise
};

// Errc::invalid_argument naming what is wrong (never echoing a password).
Result<KafkaSettings> parse_kafka_url(const std::string& url);

Result<std::shared_ptr<Broker>> open_kafka(const BrokerOptions& options);

}  // namespace stoa::messaging::kafka
