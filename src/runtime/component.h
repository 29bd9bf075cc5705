#pragma once
// Components are the boxes of the architecture (gateway, auth, user service...). Each one
// registers itself here from its own .cpp; `stoa up` starts all of them and `stoa serve X`
// the named ones, so adding a component never means editing main.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/async.h"
#include "runtime/clock.h"
#include "runtime/error.h"

namespace stoa {

class Config;
class EventLoop;
namespace http {
class Router;
class Server;
}  // namespace http
namespace obs {
class Telemetry;  // observability/telemetry.h: components above the runtime use it
}

// What the process offers a component.
class ComponentHost {
 public:
  virtual ~ComponentHost() = default;
  virtual const Config& config() const = 0;
  virtual EventLoop& loop() = 0;
  // Serves `router` on the listener configured in section `component` (keys listen,
  // tls_cert, tls_key) with the process's [http] limits and telemetry.
  virtual http::Server& serve(std::string_view component,
                              std::shared_ptr<const http::Router> router) = 0;
  // A check that admin /readyz runs; an Error names the dependency that is unreachable.
  virtual void add_readiness_check(std::string name, std::function<Awaitable<Status>()> check) = 0;
  // The process's metrics, tracer and logger.
  virtual obs::Telemetry& telemetry() = 0;
  // The process's clock, for whatever time decides (expiry, leases, windows): components take
  // it from here rather than reading std::chrono, so that a test host can move time.
  virtual const Clock& clock() const { return Clock::real(); }

  // An object the components of one process share (the database, the cache): made by `make`
  // on the first call for `name`, the same object afterwards. Shared objects are destroyed
  // after every component has stopped and before the event loop goes. Not thread-safe: call
  // it from start().
  template <class T>
  std::shared_ptr<T> shared(const std::string& name,
                            const std::function<std::shared_ptr<T>()>& make) {
    return std::static_pointer_cast<T>(
        shared_object(name, [&make]() -> std::shared_ptr<void> { return make(); }));
  }

 protected:
  virtual std::shared_ptr<void> shared_object(
      const std::string& name, const std::function<std::shared_ptr<void>()>& make) = 0;
};

class Component {
 public:
  virtual ~Component() = default;
  // Throws std::exception with a message for a person when the component cannot start.
  virtual void start(ComponentHost& host) = 0;
  // SIGTERM/SIGINT: stop taking new work (a worker stops receiving) and finish what is in
  // flight. Called on the event loop's first thread, while the loop still runs.
  virtual void begin_shutdown() {}
  // Work still in flight since begin_shutdown(): the process waits until every component
  // and server reports 0, or process.shutdown_timeout passes, before it stops the loop.
  // Called on the event loop's first thread.
  virtual std::size_t in_flight() const { return 0; }
  // Called after the servers have drained, before the process exits.
  virtual void stop() {}
};

struct ComponentInfo {
  std::string name;  // as typed in `stoa serve NAME`
  std::string description;
  int order = 100;  // start order: data before services before edge
  std::function<std::unique_ptr<Component>()> make;
};

// Returns true so that it can initialise a namespace-scope constant.
bool register_component(ComponentInfo info);
// Sorted by order, then name.
std::vector<ComponentInfo> registered_components();

}  // namespace stoa
