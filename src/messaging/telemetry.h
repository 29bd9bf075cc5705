#pragma once
// Metrics and spans for any broker adapter, so every backend reports the same way
// (OpenTelemetry's messaging conventions in Prometheus form; docs/messaging.md):
//
//   messaging_publish_duration_seconds{messaging_system, messaging_destination_name, error_type}
//   messaging_publish_messages_total{messaging_system, messaging_destination_name, error_type}
//   messaging_receive_messages_total{messaging_system, messaging_consumer_group_name}
//   messaging_process_duration_seconds{messaging_system, messaging_consumer_group_name,
//                                      stoa_outcome}   delivery to ack/nack/reject
//   messaging_process_messages_total{…same…}   stoa_outcome: ack, retry, dead_letter
//
// Spans: a PRODUCER span "publish <topic>" per publish, child of the event's traceparent
// (or a new trace), whose context replaces the event's traceparent; a CONSUMER span
// "process <topic>" from delivery to settlement, child of that traceparent, whose context
// is Delivery::trace.
#include <memory>

#include "messaging/broker.h"

namespace stoa::messaging {

std::shared_ptr<Broker> instrument(std::shared_ptr<Broker> inner, obs::Telemetry& telemetry);

}  // namespace stoa::messaging
