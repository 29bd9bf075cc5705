#include "support/loopback_server.h"

namespace stoa::test {

LoopbackServer::LoopbackServer(std::shared_ptr<const http::Router> router,
                               http::ServerLimits limits, std::string name, std::size_t threads)
    : loop_(threads) {
  http::ListenerOptions listener;
  listener.name = std::move(name);
  server_ = std::make_unique<http::Server>(loop_, std::move(listener), limits, std::move(router),
                                           nullptr);
  server_->start();
  thread_ = std::thread([this] { loop_.run(); });
}

LoopbackServer::~LoopbackServer() {
  server_->close_all();
  loop_.stop();
  thread_.join();
  server_.reset();
}

std::string LoopbackServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port()) + path;
}

}  // namespace stoa::test
