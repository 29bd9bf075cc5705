#pragma once
// What travels through the broker: a CloudEvents 1.0 event (cloudevents.h encodes it as the
// structured JSON envelope), the topic it is published to, and, on the consuming side, the
// broker's delivery of it to one consumer group.
#include <cstdint>
#include <map>
#include <string>

#include "runtime/trace_context.h"

namespace stoa::messaging {

// A CloudEvents 1.0 event. Required: id, source, type (and specversion, always "1.0").
// `data` is bytes: with a JSON `datacontenttype` (application/json or */*+json) it must be
// one JSON document and is embedded as JSON in the envelope; otherwise it travels as
// data_base64. Stoa's types are named stoa.<service>.<what>.v1 (ARCHITECTURE.md).
struct Event {
  std::string id;  // unique per source; Stoa uses UUIDv7 (Uuid::v7().to_string())
  std::string source;
  std::string type;
  std::string specversion = "1.0";
  std::string time;  // RFC 3339, "" = absent
  std::string datacontenttype = "application/json";
  std::string subject;      // "" = absent; Stoa puts the aggregate's id here
  std::string traceparent;  // W3C trace context of the producer (distributed tracing ext.)
  std::string tracestate;
  // Other extension attributes (lowercase a-z0-9 names); Stoa carries string values only.
  std::map<std::string, std::string> extensions;
  std::string data;  // "" with has_data == false: the event has no data
  bool has_data = false;

  friend bool operator==(const Event&, const Event&) = default;
};

// An event and where it goes. The topic is the routing key (RabbitMQ) or topic (Kafka) that
// consumer groups bind to; services name it after themselves ("stoa.order").
struct Message {
  std::string topic;
  Event event;
};

// One delivery of a message to one consumer of a group. `tag` and `lease` belong to the
// broker (the embedded log's sequence number and the lease of this delivery; a RabbitMQ
// delivery tag; a Kafka partition and offset): pass the Delivery back to ack or nack it.
struct Delivery {
  Message message;
  std::string group;
  std::uint64_t tag = 0;
  std::uint64_t lease = 0;
  std::uint32_t attempt = 1;  // 1 for the first delivery, 2 for the first redelivery …
  // The consumer span's context (a child of the producer's traceparent, when the broker is
  // instrumented): the parent of whatever the handler does.
  TraceContext trace;
};

}  // namespace stoa::messaging
