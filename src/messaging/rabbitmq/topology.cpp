#include "messaging/rabbitmq/topology.h"

#include <charconv>
#include <functional>

#include "messaging/cloudevents.h"

namespace stoa::messaging::rabbitmq {

namespace {

template <class Int>
Int number(const std::map<std::string, std::string>& headers, const char* key) {
  auto it = headers.find(key);
  Int value = 0;
  if (it == headers.end()) return 0;
  const auto& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() ? value : 0;
}

}  // namespace

AmqpMessage outbound(const Message& message, std::string envelope, std::uint64_t tag) {
  AmqpMessage m;
  m.body = std::move(envelope);
  m.content_type = std::string(cloudevents::content_type);
  m.message_id = message.event.id;
  m.type = message.event.type;
  // The CloudEvents attributes are copied under the AMQP binding's names for tools that read
  // headers only; Stoa reads the envelope. (One initializer list: assigning key by key trips a
  // false -Wrestrict in GCC 12.)
  m.headers = {{header::topic, message.topic},
               {header::tag, std::to_string(tag)},
               {header::deliveries, "0"},
               {"cloudEvents:id", message.event.id},
               {"cloudEvents:type", message.event.type},
               {"cloudEvents:source", message.event.source}};
  if (!message.event.traceparent.empty()) {
    m.headers.emplace("traceparent", message.event.traceparent);
  }
  return m;
}

Stamp stamp_of(const Inbound& in) {
  Stamp s;
  const auto& h = in.message.headers;
  auto topic = h.find(header::topic);
  s.topic = topic != h.end() ? topic->second : in.routing_key;
  s.tag = number<std::uint64_t>(h, header::tag);
  // A message from another producer has no tag: its body names it.
  if (s.tag == 0) s.tag = std::hash<std::string>{}(in.message.body) | 1;
  s.deliveries = number<std::uint32_t>(h, header::deliveries);
  return s;
}

}  // namespace stoa::messaging::rabbitmq
