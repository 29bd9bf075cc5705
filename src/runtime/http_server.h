#pragma once
// The HTTP/1.1 server: keep-alive, pipelining (requests on one connection are answered in
// order, one at a time, so the queue is bounded by the read buffer), header/body/idle
// timeouts, size limits, TLS, and graceful shutdown.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/router.h"
#include "runtime/server_observer.h"

namespace stoa {
class EventLoop;
}

namespace stoa::http {

struct ServerLimits {
  std::size_t max_header_bytes = 16 * 1024;          // request line + headers; over it: 431
  std::size_t max_body_bytes = 1024 * 1024;          // default per route; over it: 413
  std::chrono::milliseconds header_timeout{10'000};  // whole head, from its first byte
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t max_connections = 10'000;  // per server; past it new connections are closed
};

struct ListenerOptions {
  std::string name;  // the component, for logs and metrics
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;     // 0: any free port (see Server::port)
  std::string tls_cert_file;  // PEM chain; TLS is on when both files are set
  std::string tls_key_file;
};

class Server {
 public:
  // `observer` may be null and must outlive the server.
  Server(EventLoop& loop, ListenerOptions listener, ServerLimits limits,
         std::shared_ptr<const Router> router, ServerObserver* observer);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds one acceptor per event-loop context and starts accepting. Throws
  // std::runtime_error naming the address when the listener cannot be opened.
  void start();
  std::uint16_t port() const;
  const ListenerOptions& listener() const;

  // Stops accepting and closes idle keep-alive connections; requests in flight finish and
  // their connections close after the response. Thread-safe.
  void begin_shutdown();
  // Connections still open (in flight during shutdown).
  std::size_t open_connections() const;
  // Closes every connection at once (after the shutdown deadline).
  void close_all();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace stoa::http
