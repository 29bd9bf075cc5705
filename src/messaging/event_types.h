#pragma once
// The registry of event types a consumer understands: type -> validator. A consumer group
// is bound to whole topics, so it also receives types it does not handle: the worker acks
// those without a handler (contains() is false; not a failure). A delivery of a registered
// type whose data its validator refuses is not handed to a handler either: it goes to the
// group's dead-letter queue with the reason (retrying cannot fix it).
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "messaging/event.h"
#include "runtime/error.h"

namespace stoa::messaging {

class EventTypes {
 public:
  // Checks one event of its type: Ok, or an Error whose message is the reason
  // (e.g. "data.amount is missing"). Must be thread-safe (it is called concurrently).
  using Validator = std::function<Status(const Event& event)>;

  // Registers `type` (stoa.<service>.<what>.v1). A validator may be empty: any data goes.
  // Throws std::invalid_argument when the type is empty or already registered.
  void add(std::string type, Validator validator = {});

  bool contains(const std::string& type) const { return types_.contains(type); }
  std::vector<std::string> types() const;

  // Ok for a registered type whose validator accepts the event; otherwise
  // Errc::invalid_argument with the reason, naming the type (an unregistered type too:
  // callers that skip those ask contains() first).
  Status check(const Event& event) const;

  // A validator for JSON data: the data must be a JSON object holding every one of
  // `required` as a member.
  static Validator json_object_with(std::vector<std::string> required);

 private:
  std::map<std::string, Validator, std::less<>> types_;
};

}  // namespace stoa::messaging
