#pragma once
// A broker backend for the suites that run on every adapter (broker_contract.h, and the
// worker runtime's tests/workers/worker_contract.h): how to open it over a test's scratch
// directory, and whether its server is there. Each backend's test file defines one and
// instantiates the suites with it.
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "messaging/broker.h"

namespace stoa::messaging::test {

struct BrokerBackend {
  std::string name;
  // A broker over the data in `scratch` (a directory the test owns; a network backend may
  // use it only to name its queues uniquely). Opening twice on one scratch must see the
  // same durable state.
  std::function<Result<std::shared_ptr<Broker>>(const BrokerOptions&, const std::string& scratch)>
      open;
  // For a backend that needs a server: "" when it is there, otherwise why not (the test then
  // skips, or fails when every tier must run: STOA_TEST_REQUIRE_ALL).
  std::function<std::string()> missing = [] { return std::string(); };
};

// Test names show the backend, not the object's bytes.
inline void PrintTo(const BrokerBackend& backend, std::ostream* out) {
  *out << backend.name;
}

}  // namespace stoa::messaging::test
