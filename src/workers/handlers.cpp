#include "workers/handlers.h"

#include <mutex>
#include <stdexcept>

namespace stoa::workers {

namespace {

struct Registry {
  std::mutex mutex;
  std::vector<HandlerInfo> handlers;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

bool register_handler(HandlerInfo info) {
  if (info.group.empty() || info.topic.empty() || info.type.empty() || !info.make) {
    throw std::invalid_argument("a handler needs a group, a topic, a type and a make function");
  }
  std::lock_guard lock(registry().mutex);
  for (const auto& other : registry().handlers) {
    if (other.group == info.group && other.type == info.type) {
      throw std::invalid_argument("event type " + info.type + " has two handlers in group " +
                                  info.group);
    }
  }
  registry().handlers.push_back(std::move(info));
  return true;
}

std::vector<HandlerInfo> registered_handlers() {
  std::lock_guard lock(registry().mutex);
  return registry().handlers;
}

}  // namespace stoa::workers
