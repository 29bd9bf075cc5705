#include "app/process.h"

#include <map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "data/sql/migrations.h"
#include "observability/admin.h"
#include "observability/log.h"
#include "observability/telemetry.h"
#include "runtime/event_loop.h"
#include "runtime/http_server.h"

namespace stoa::app {

namespace {

http::ServerLimits server_limits(const Config& config) {
  http::ServerLimits limits;
  limits.max_header_bytes = config.bytes("http.max_header_bytes");
  limits.max_body_bytes = config.bytes("http.max_body_bytes");
  limits.header_timeout = config.duration("http.header_timeout");
  limits.body_timeout = config.duration("http.body_timeout");
  limits.idle_timeout = config.duration("http.idle_timeout");
  limits.write_timeout = config.duration("http.write_timeout");
  limits.max_connections = static_cast<std::size_t>(config.integer("http.max_connections"));
  return limits;
}

std::size_t thread_count(const Config& config) {
  auto threads = config.integer("process.threads");
  if (threads < 0 || threads > 256) {
    throw std::runtime_error("process.threads must be between 0 (one per core) and 256, not " +
                             std::to_string(threads));
  }
  return static_cast<std::size_t>(threads);
}

}  // namespace

struct Process::Impl {
  Config config;
  // Declared before the loop so that it is destroyed after it: connections still suspended
  // when the loop goes report their close to the telemetry's observers.
  obs::Telemetry telemetry;
  EventLoop loop;
  obs::ReadinessChecks readiness;
  std::vector<std::unique_ptr<http::Server>> servers;
  // Declared after the loop and before the components, so that they are destroyed after the
  // components and before the loop: they may hold sockets and timers of the loop.
  std::map<std::string, std::shared_ptr<void>> shared_objects;
  std::vector<std::unique_ptr<Component>> components;
  std::unique_ptr<boost::asio::steady_timer> drain_timer;
  bool shutting_down = false;

  explicit Impl(Config c) : config(std::move(c)), telemetry(config), loop(thread_count(config)) {}

  // SIGTERM/SIGINT: stop accepting, let requests in flight finish until the deadline, then
  // stop. A second signal stops at once.
  void begin_shutdown(int signal) {
    if (shutting_down) {
      obs::log(obs::Level::warn, "stoa", "second signal: stopping now", {{"signal", signal}});
      for (auto& server : servers) server->close_all();
      loop.stop();
      return;
    }
    shutting_down = true;
    obs::log(obs::Level::info, "stoa", "shutting down", {{"signal", signal}});
    for (auto& server : servers) server->begin_shutdown();
    for (auto& component : components) component->begin_shutdown();
    auto deadline = std::chrono::steady_clock::now() + config.duration("process.shutdown_timeout");
    drain_timer = std::make_unique<boost::asio::steady_timer>(loop.context(0));
    wait_for_drain(deadline);
  }

  void wait_for_drain(std::chrono::steady_clock::time_point deadline) {
    std::size_t open = 0;
    for (auto& server : servers) open += server->open_connections();
    std::size_t busy = 0;
    for (auto& component : components) busy += component->in_flight();
    if ((open == 0 && busy == 0) || std::chrono::steady_clock::now() >= deadline) {
      if (open != 0 || busy != 0) {
        obs::log(obs::Level::warn, "stoa", "shutdown deadline passed; closing connections",
                 {{"open_connections", open}, {"work_in_flight", busy}});
        for (auto& server : servers) server->close_all();
      }
      loop.stop();
      return;
    }
    drain_timer->expires_after(std::chrono::milliseconds(20));
    drain_timer->async_wait([this, deadline](const boost::system::error_code& ec) {
      if (!ec) wait_for_drain(deadline);
    });
  }
};

Process::Process(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Process::~Process() = default;

const Config& Process::config() const {
  return impl_->config;
}

EventLoop& Process::loop() {
  return impl_->loop;
}

http::Server& Process::serve(std::string_view component,
                             std::shared_ptr<const http::Router> router) {
  const Config& config = impl_->config;
  std::string section(component);
  ListenAddress address = config.address(section + ".listen");
  http::ListenerOptions listener;
  listener.name = section;
  listener.host = address.host;
  listener.port = address.port;
  listener.tls_cert_file = config.string(section + ".tls_cert");
  listener.tls_key_file = config.string(section + ".tls_key");
  auto server =
      std::make_unique<http::Server>(impl_->loop, std::move(listener), server_limits(config),
                                     std::move(router), &impl_->telemetry.observer_for(section));
  server->start();
  obs::log(obs::Level::info, section, "listening",
           {{"address", address.host},
            {"port", server->port()},
            {"tls", !server->listener().tls_cert_file.empty()}});
  impl_->servers.push_back(std::move(server));
  return *impl_->servers.back();
}

void Process::add_readiness_check(std::string name, std::function<Awaitable<Status>()> check) {
  impl_->readiness.add(std::move(name), std::move(check));
}

obs::Telemetry& Process::telemetry() {
  return impl_->telemetry;
}

std::shared_ptr<void> Process::shared_object(const std::string& name,
                                             const std::function<std::shared_ptr<void>()>& make) {
  auto& slot = impl_->shared_objects[name];
  if (!slot) slot = make();
  return slot;
}

int Process::run(const std::vector<std::string>& names) {
  std::vector<ComponentInfo> chosen;
  for (const auto& info : registered_components()) {
    if (names.empty() || std::find(names.begin(), names.end(), info.name) != names.end()) {
      chosen.push_back(info);
    }
  }
  try {
    sql::apply_configured_migrations(*this);  // database.migrations_dir, before any component
    for (const auto& info : chosen) {
      auto component = info.make();
      component->start(*this);
      impl_->components.push_back(std::move(component));
      obs::log(obs::Level::info, info.name, "started");
    }
    // Last: once /healthz answers, every component is listening.
    serve("admin", obs::make_admin_router(impl_->telemetry, impl_->readiness));
  } catch (const std::exception& e) {
    obs::log(obs::Level::error, "stoa", "start-up failed", {{"error", e.what()}});
    for (auto& server : impl_->servers) server->close_all();
    impl_->telemetry.shutdown();
    return 1;
  }
  impl_->loop.on_stop_signal([this](int signal) { impl_->begin_shutdown(signal); });
  obs::log(obs::Level::info, "stoa", "ready",
           {{"version", STOA_VERSION}, {"threads", impl_->loop.size()}});
  impl_->loop.run();
  for (auto it = impl_->components.rbegin(); it != impl_->components.rend(); ++it) (*it)->stop();
  impl_->components.clear();
  impl_->shared_objects.clear();
  obs::log(obs::Level::info, "stoa", "stopped");
  impl_->telemetry.shutdown();
  return 0;
}

}  // namespace stoa::app
