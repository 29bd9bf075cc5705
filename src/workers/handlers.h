#pragma once
// Event handlers: what a service's background jobs plug into the worker process. A service
// registers its handlers from its own folder (as components register themselves), and
// `stoa serve workers` / `stoa up` runs every registered one:
//
//   [[maybe_unused]] const bool registered = workers::register_handler({
//       .group = "user-export",                    // the consumer group (a durable queue)
//       .topic = "stoa.user",                      // what the group is bound to
//       .type = "stoa.user.export_requested.v1",   // the event type it handles: the group
//                                                  // acks the topic's other types unhandled
//       .validator = messaging::EventTypes::json_object_with({"user_id"}),
//       .make = [](ComponentHost& host) -> workers::Handler { ... },
//   });
//
// A handler returns Ok (the delivery is acked), an Errc::invalid_argument Error (it can
// never succeed: dead-lettered now with the message as the reason) or any other Error
// (nacked: retried with the broker's backoff, dead-lettered after broker.max_attempts).
// It applies its effects through the inbox (messaging/inbox.h) so that a redelivery does
// nothing twice.
#include <functional>
#include <string>
#include <vector>

#include "messaging/event.h"
#include "messaging/event_types.h"
#include "runtime/async.h"
#include "runtime/error.h"

namespace stoa {
class ComponentHost;
}

namespace stoa::workers {

// Handles one delivery. Called concurrently (workers.concurrency per group), on any of the
// event loop's threads; `delivery.trace` is the parent of the handler's spans.
using Handler = std::function<Awaitable<Status>(const messaging::Delivery& delivery)>;

struct HandlerInfo {
  std::string group;
  std::string topic;
  std::string type;
  messaging::EventTypes::Validator validator;  // empty: any data goes
  // Called once in the worker's start() (it may open the database, the object store …).
  std::function<Handler(ComponentHost& host)> make;
};

// Returns true so that it can initialise a namespace-scope constant. Throws
// std::invalid_argument for an empty group, topic or type, or a type registered twice in
// one group.
bool register_handler(HandlerInfo info);
std::vector<HandlerInfo> registered_handlers();

}  // namespace stoa::workers
