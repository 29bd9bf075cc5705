#include "messaging/event_types.h"

#include <stdexcept>

#include <boost/json/object.hpp>

#include "messaging/cloudevents.h"
#include "runtime/json.h"

namespace stoa::messaging {

void EventTypes::add(std::string type, Validator validator) {
  if (type.empty()) throw std::invalid_argument("an event type must not be empty");
  if (types_.contains(type)) {
    throw std::invalid_argument("event type " + type + " is registered twice");
  }
  types_.emplace(std::move(type), std::move(validator));
}

std::vector<std::string> EventTypes::types() const {
  std::vector<std::string> out;
  for (const auto& entry : types_) out.push_back(entry.first);
  return out;
}

Status EventTypes::check(const Event& event) const {
  auto it = types_.find(event.type);
  if (it == types_.end()) {
    return Error{Errc::invalid_argument, "unknown event type " +
                                             quote_for_message(event.type, 128) +
                                             ": no handler of this consumer group registered it"};
  }
  if (!it->second) return Ok{};
  Status status = it->second(event);
  if (!status) {
    return Error{Errc::invalid_argument, "invalid " + event.type + " event " +
                                             quote_for_message(event.id) + ": " +
                                             status.error().message};
  }
  return Ok{};
}

EventTypes::Validator EventTypes::json_object_with(std::vector<std::string> required) {
  return [required = std::move(required)](const Event& event) -> Status {
    if (!event.has_data) return Error{Errc::invalid_argument, "the event has no data"};
    if (!event.datacontenttype.empty() &&
        !cloudevents::is_json_content_type(event.datacontenttype)) {
      return Error{Errc::invalid_argument,
                   "data is " + quote_for_message(event.datacontenttype) + ", not JSON"};
    }
    auto parsed = json::parse(event.data);
    if (!parsed) return Error{Errc::invalid_argument, "data: " + parsed.error().message};
    if (!parsed->is_object()) return Error{Errc::invalid_argument, "data is not a JSON object"};
    for (const auto& key : required) {
      if (!parsed->as_object().contains(key)) {
        return Error{Errc::invalid_argument, "data." + key + " is missing"};
      }
    }
    return Ok{};
  };
}

}  // namespace stoa::messaging
