#pragma once
// The records of the embedded broker's log. The log is the broker's whole state: replaying
// it in order rebuilds every group's pending, delayed and dead messages.
//
//   publish  seq topic envelope          a message, confirmed once durable
//   group    name start_seq topics       a consumer group; it gets messages from start_seq
//   ack      group seq                   the group is done with the message
//   retry    group seq attempts not_before_ms   nacked: deliver again after not_before
//   dead     group seq attempts time_ms reason  dead-lettered
//   replay   group seq                   a dead letter put back (attempts reset)
//
// Strings are u32 length + bytes, integers little-endian.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::messaging::embedded {

enum class RecordType : std::uint8_t {
  publish = 1,
  group = 2,
  ack = 3,
  retry = 4,
  dead = 5,
  replay = 6,
};

struct Record {
  RecordType type = RecordType::publish;
  std::uint64_t seq = 0;            // publish, ack, retry, dead, replay; group: start_seq
  std::string name;                 // group: its name; the others: the group (publish: the topic)
  std::string envelope;             // publish
  std::vector<std::string> topics;  // group
  std::uint32_t attempts = 0;       // retry, dead
  std::int64_t time_ms = 0;         // retry: not_before; dead: when (Unix ms)
  std::string reason;               // dead
};

// Named constructors, one per type.
Record publish_record(std::uint64_t seq, std::string topic, std::string envelope);
Record group_record(std::string group, std::uint64_t start_seq, std::vector<std::string> topics);
Record ack_record(std::string group, std::uint64_t seq);
Record replay_record(std::string group, std::uint64_t seq);
Record retry_record(std::string group, std::uint64_t seq, std::uint32_t attempts,
                    std::int64_t not_before_ms);
Record dead_record(std::string group, std::uint64_t seq, std::uint32_t attempts,
                   std::int64_t time_ms, std::string reason);

std::string encode(const Record& record);  // the payload (the type goes in the frame)
// nullopt when the payload is not a well-formed record of that type.
std::optional<Record> decode(std::uint8_t type, std::string_view payload);

}  // namespace stoa::messaging::embedded
