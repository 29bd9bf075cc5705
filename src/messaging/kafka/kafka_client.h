#pragma once
// Internal to the Kafka adapter (includes librdkafka: include only from this folder's .cpp
// files). Handles, configuration, topic creation and whole-topic reads shared by the
// producer side (kafka_broker.cpp) and the consumer side (group_runtime.cpp).
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messaging/kafka/kafka_broker.h"

namespace stoa::messaging::kafka {

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// How long an admin or metadata call may take before it is an error.
inline constexpr std::chrono::milliseconds kAdminTimeout{10'000};

// The names of a group's own topics.
inline std::string retry_topic(std::string_view group) {
  return std::string(group) + ".retry";
}
inline std::string dlq_topic(std::string_view group) {
  return std::string(group) + ".dlq";
}
inline constexpr std::string_view kGroupsTopic = "stoa.groups";

// The headers the adapter writes (docs/messaging.md, "Kafka").
namespace header {
inline constexpr const char* content_type = "content-type";
inline constexpr const char* traceparent = "traceparent";
inline constexpr const char* topic = "stoa-topic";        // retry, dlq: where it was published
inline constexpr const char* attempts = "stoa-attempts";  // retry, dlq: deliveries so far
inline constexpr const char* due = "stoa-due";            // retry: unix ms when it is due
inline constexpr const char* reason = "stoa-reason";      // dlq
inline constexpr const char* time = "stoa-time";          // dlq: unix ms when dead-lettered
inline constexpr const char* replayed = "stoa-replayed";  // dlq: marks a dead letter replayed
}  // namespace header

// A configuration the adapter sets `fixed` on top of the URL's properties. Errc::
// invalid_argument naming a property librdkafka refuses. `setup` may install callbacks.
Result<Handle> make_handle(rd_kafka_type_t type, const KafkaSettings& settings,
                           const std::vector<std::pair<std::string, std::string>>& fixed,
                           const std::function<void(rd_kafka_conf_t*)>& setup = {});

Error kafka_error(rd_kafka_resp_err_t err, const std::string& what);

struct TopicSpec {
  std::string name;
  bool compacted = false;     // stoa.groups: the latest binding per group
  bool keep_forever = false;  // dead letters are kept until replayed
};

// Creates the topics that do not exist (the admin API). A cluster without CreateTopics
// (librdkafka's mock cluster) gets them through broker-side auto-creation instead.
Status ensure_topics(rd_kafka_t* rk, const KafkaSettings& settings,
                     const std::vector<TopicSpec>& topics);

// The topic's partitions (Errc::not_found when it does not exist).
Result<std::vector<std::int32_t>> partitions_of(rd_kafka_t* rk, const std::string& topic);

// Reads every message of `topic` present now, partition by partition, oldest first, with a
// consumer of no group (nothing is committed).
Status read_topic(const KafkaSettings& settings, const std::string& topic,
                  const std::function<void(const rd_kafka_message_t&)>& visit);

// A header's value ("" when absent); a number header (nullopt when absent or malformed).
std::string header_text(const rd_kafka_message_t& message, const char* name);
std::optional<std::int64_t> header_number(const rd_kafka_message_t& message, const char* name);

std::int64_t unix_ms_now();

}  // namespace stoa::messaging::kafka
