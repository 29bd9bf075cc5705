#include "runtime/http_server.h"

#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "runtime/event_loop.h"
#include "runtime/http_session.h"
#include "runtime/tls.h"

namespace stoa::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

struct Server::Impl : std::enable_shared_from_this<Impl> {
  EventLoop& loop;
  ListenerOptions listener;
  std::shared_ptr<detail::SessionShared> shared;
  std::shared_ptr<asio::ssl::context> tls;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // one per context
  std::uint16_t port = 0;

  Impl(EventLoop& l, ListenerOptions o) : loop(l), listener(std::move(o)) {}

  tcp::endpoint endpoint(std::uint16_t p) const {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(listener.host, ec);
    if (ec) {
      // A name such as "localhost": resolve it once, at start-up.
      asio::io_context resolver_context;
      tcp::resolver resolver(resolver_context);
      auto results = resolver.resolve(listener.host, std::to_string(p), ec);
      if (ec || results.empty()) {
        throw std::runtime_error("cannot resolve listen host '" + listener.host + "' for " +
                                 listener.name + ": " + ec.message());
      }
      return *results.begin();
    }
    return {address, p};
  }

  [[noreturn]] void fail(const std::string& what, const boost::system::error_code& ec) const {
    throw std::runtime_error(listener.name + ": cannot listen on " + listener.host + ":" +
                             std::to_string(listener.port) + " (" + what + ": " + ec.message() +
                             ")");
  }

  // Every context gets its own acceptor on the same port (SO_REUSEPORT), so the kernel
  // spreads connections over the threads. A port taken by another process must still fail,
  // so a probe without SO_REUSEPORT checks it first.
  void open_acceptors() {
    boost::system::error_code ec;
    if (listener.port != 0) {
      asio::io_context probe_context;
      tcp::acceptor probe(probe_context);
      auto ep = endpoint(listener.port);
      probe.open(ep.protocol(), ec);
      if (!ec) probe.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) probe.bind(ep, ec);
      if (ec) fail("bind", ec);
    }
    for (std::size_t i = 0; i < loop.size(); ++i) {
      auto acceptor = std::make_unique<tcp::acceptor>(loop.context(i));
      auto ep = endpoint(i == 0 ? listener.port : port);
      acceptor->open(ep.protocol(), ec);
      if (ec) fail("open", ec);
      acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      acceptor->set_option(reuse_port(true), ec);
      if (ec) fail("SO_REUSEPORT", ec);
      acceptor->bind(ep, ec);
      if (ec) fail("bind", ec);
      acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) fail("listen", ec);
      if (i == 0) port = acceptor->local_endpoint().port();
      acceptors.push_back(std::move(acceptor));
    }
  }

  static bool out_of_resources(const boost::system::error_code& ec) {
    return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
           ec == asio::error::no_memory || ec.value() == ENFILE;
  }

  asio::awaitable<void> accept_loop(std::size_t index) {
    auto self = shared_from_this();
    auto& acceptor = *acceptors[index];
    auto& context = loop.context(index);
    asio::steady_timer backoff(context);
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (shared->shutting_down.load() || ec == asio::error::operation_aborted) co_return;
      if (ec) {
        if (shared->observer) shared->observer->server_error("accept", ec.message());
        if (out_of_resources(ec)) {
          // EMFILE and friends: accepting again at once would spin. Wait for sessions to end.
          backoff.expires_after(std::chrono::milliseconds(100));
          co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        continue;
      }
      if (shared->open_connections.load(std::memory_order_relaxed) >=
          shared->limits.max_connections) {
        if (shared->observer) shared->observer->request_rejected(503, "connection limit reached");
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto remote = socket.remote_endpoint(ignored);
      std::string remote_address = ignored ? std::string() : remote.address().to_string();
      if (tls) {
        asio::co_spawn(context,
                       detail::run_tls_session(shared, detail::TlsStream(std::move(socket), *tls),
                                               std::move(remote_address), index),
                       asio::detached);
      } else {
        asio::co_spawn(context,
                       detail::run_plain_session(shared, detail::PlainStream(std::move(socket)),
                                                 std::move(remote_address), index),
                       asio::detached);
      }
    }
  }

  // Runs `fn` on every context's own thread.
  template <class Fn>
  void on_each_context(Fn fn) {
    for (std::size_t i = 0; i < loop.size(); ++i) {
      asio::post(loop.context(i), [self = shared_from_this(), fn, i] { fn(*self, i); });
    }
  }
};

Server::Server(EventLoop& loop, ListenerOptions listener, ServerLimits limits,
               std::shared_ptr<const Router> router, ServerObserver* observer)
    : impl_(std::make_shared<Impl>(loop, std::move(listener))) {
  impl_->shared = std::make_shared<detail::SessionShared>();
  impl_->shared->limits = limits;
  impl_->shared->router = std::move(router);
  impl_->shared->observer = observer;
  impl_->shared->sessions.resize(loop.size());
}

Server::~Server() = default;

void Server::start() {
  if (!impl_->listener.tls_cert_file.empty() || !impl_->listener.tls_key_file.empty()) {
    impl_->tls =
        tls::make_server_context(impl_->listener.tls_cert_file, impl_->listener.tls_key_file);
  }
  impl_->open_acceptors();
  for (std::size_t i = 0; i < impl_->loop.size(); ++i) {
    asio::co_spawn(impl_->loop.context(i), impl_->accept_loop(i), asio::detached);
  }
}

std::uint16_t Server::port() const {
  return impl_->port;
}

const ListenerOptions& Server::listener() const {
  return impl_->listener;
}

void Server::begin_shutdown() {
  impl_->shared->shutting_down.store(true);
  impl_->on_each_context([](Impl& impl, std::size_t i) {
    boost::system::error_code ignored;
    if (i < impl.acceptors.size()) impl.acceptors[i]->close(ignored);
    // Copy: closing a session may end it, and it removes itself from the set.
    auto sessions = impl.shared->sessions[i];
    for (auto* session : sessions) session->close_if_idle();
  });
}

std::size_t Server::open_connections() const {
  return impl_->shared->open_connections.load();
}

void Server::close_all() {
  impl_->on_each_context([](Impl& impl, std::size_t i) {
    auto sessions = impl.shared->sessions[i];
    for (auto* session : sessions) session->close_now();
  });
}

}  // namespace stoa::http
