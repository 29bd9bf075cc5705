#pragma once
// A real stoa::http::Server on loopback with an event loop and thread of its own, for tests
// that talk to one (raw sockets, the HTTP client, a JWKS or OTLP endpoint of the test's own).
// It stops, and joins its thread, when the object goes.
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "runtime/event_loop.h"
#include "runtime/http_server.h"
#include "runtime/router.h"

namespace stoa::test {

class LoopbackServer {
 public:
  explicit LoopbackServer(std::shared_ptr<const http::Router> router,
                          http::ServerLimits limits = {}, std::string name = "test",
                          std::size_t threads = 1);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  std::uint16_t port() const { return server_->port(); }
  // "http://127.0.0.1:PORT" + path.
  std::string url(const std::string& path = "") const;
  EventLoop& loop() { return loop_; }
  http::Server& server() { return *server_; }

 private:
  EventLoop loop_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

}  // namespace stoa::test
