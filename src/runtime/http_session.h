#pragma once
// Internal to the HTTP server (and its fuzz target): one connection's request loop.
// Includes Beast, so only http_server.cpp, http_session.cpp and tests/fuzz include it.
#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_set>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "runtime/http_server.h"

namespace stoa::http::detail {

class Session;

// What every connection of one server shares. Sessions touch `sessions` only from the
// thread of their own io_context, so there is one set per context.
struct SessionShared {
  ServerLimits limits;
  std::shared_ptr<const Router> router;
  ServerObserver* observer = nullptr;
  std::atomic<bool> shutting_down{false};
  std::atomic<std::size_t> open_connections{0};
  std::vector<std::unordered_set<Session*>> sessions;  // by context index
};

// The part of a session the server needs to reach at shutdown.
class Session {
 public:
  virtual ~Session() = default;
  // Closes the connection when it is waiting for a next request (none in flight).
  virtual void close_if_idle() = 0;
  virtual void close_now() = 0;
};

using PlainStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// Serves requests on `stream` until the connection closes. `context_index` selects the
// session set in `shared`; pass SIZE_MAX to skip registration (fuzzing).
boost::asio::awaitable<void> run_plain_session(std::shared_ptr<SessionShared> shared,
                                               PlainStream stream, std::string remote_address,
                                               std::size_t context_index);
boost::asio::awaitable<void> run_tls_session(std::shared_ptr<SessionShared> shared,
                                             TlsStream stream, std::string remote_address,
                                             std::size_t context_index);

}  // namespace stoa::http::detail
