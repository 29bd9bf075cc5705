#pragma once
// One stoa process: the configuration, the event loop, telemetry, the admin listener and
// the components it was asked to run. It is the ComponentHost those components see.
#include <memory>
#include <string>
#include <vector>

#include "runtime/component.h"
#include "runtime/config.h"

namespace stoa::app {

class Process final : public ComponentHost {
 public:
  explicit Process(Config config);
  ~Process() override;

  // Starts the admin listener and `components` (empty: every registered component), then
  // runs until SIGTERM/SIGINT and drains. Returns the process exit code.
  int run(const std::vector<std::string>& components);

  const Config& config() const override;
  EventLoop& loop() override;
  http::Server& serve(std::string_view component,
                      std::shared_ptr<const http::Router> router) override;
  void add_readiness_check(std::string name, std::function<Awaitable<Status>()> check) override;
  obs::Telemetry& telemetry() override;

 protected:
  std::shared_ptr<void> shared_object(const std::string& name,
                                      const std::function<std::shared_ptr<void>()>& make) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stoa::app
