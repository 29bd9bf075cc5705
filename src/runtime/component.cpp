#include "runtime/component.h"

#include <algorithm>
#include <mutex>

namespace stoa {

namespace {
// Function-local statics: registrations run during static initialisation, in any order.
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::vector<ComponentInfo>& registry() {
  static std::vector<ComponentInfo> components;
  return components;
}
}  // namespace

bool register_component(ComponentInfo info) {
  std::lock_guard lock(registry_mutex());
  registry().push_back(std::move(info));
  return true;
}

std::vector<ComponentInfo> registered_components() {
  std::lock_guard lock(registry_mutex());
  auto components = registry();
  std::sort(components.begin(), components.end(), [](const auto& a, const auto& b) {
    return a.order != b.order ? a.order < b.order : a.name < b.name;
  });
  return components;
}

}  // namespace stoa
