// Fuzzes the request path: bytes from the fuzzer go over a loopback connection into a real
// stoa::http::Server (parser, limits, router, handlers, error responses). Whatever the
// input, the server must answer with HTTP or close, and never crash or hang. Before that, the
// framing decision (runtime/http_framing.h) is checked against Beast's parser: a request with
// a Transfer-Encoding that the server lets through must be one Beast frames as chunked, or its
// body would be read as a next request (smuggling).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "runtime/event_loop.h"
#include "runtime/http_framing.h"
#include "runtime/http_server.h"
#include "runtime/router.h"

namespace {

struct Harness {
  stoa::EventLoop loop{1};
  std::unique_ptr<stoa::http::Server> server;
  std::thread thread;

  Harness() {
    auto router = std::make_shared<stoa::http::Router>();
    router->add("GET", "/v1/ping",
                [](stoa::http::Request&) -> stoa::Awaitable<stoa::http::Response> {
                  co_return stoa::http::Response::json(200, R"({"status":"ok"})");
                });
    router->add("POST", "/v1/items/{id}",
                [](stoa::http::Request& r) -> stoa::Awaitable<stoa::http::Response> {
                  co_return stoa::http::Response::text(201, std::string(*r.param("id")) + r.body);
                },
                {.max_body_bytes = 4096});
    router->add("GET", "/files/{path...}",
                [](stoa::http::Request& r) -> stoa::Awaitable<stoa::http::Response> {
                  co_return stoa::http::Response::text(200, std::string(*r.param("path")));
                });
    stoa::http::ServerLimits limits;
    limits.header_timeout = std::chrono::milliseconds(1000);
    limits.body_timeout = std::chrono::milliseconds(1000);
    limits.idle_timeout = std::chrono::milliseconds(1000);
    limits.max_body_bytes = 16 * 1024;
    stoa::http::ListenerOptions listener;
    listener.name = "fuzz";
    server = std::make_unique<stoa::http::Server>(loop, listener, limits, router, nullptr);
    server->start();
    thread = std::thread([this] { loop.run(); });
  }
};

Harness& harness() {
  static Harness* h = new Harness();  // lives for the whole run; never destroyed mid-input
  return *h;
}

void exchange(const std::uint8_t* data, std::size_t size) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(harness().server->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    // Interrupted by a signal, the connect goes on in the background: wait for it.
    if (errno != EINTR) std::abort();
    pollfd p{fd, POLLOUT, 0};
    while (::poll(&p, 1, 5000) < 0 && errno == EINTR) {
    }
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) std::abort();
  }
  std::size_t sent = 0;
  while (sent < size) {
    ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string received;
  char buf[65536];
  // The server must close once the client is done: no close within 5 s is a finding.
  // (libFuzzer's timers interrupt poll with EINTR, which is not one.)
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      std::fprintf(stderr, "server neither answered nor closed within 5 s; got %zu bytes:\n%s\n",
                   received.size(), received.c_str());
      std::abort();
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    received.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!received.empty() && received.rfind("HTTP/1.", 0) != 0) std::abort();
}

void check_framing(const std::uint8_t* data, std::size_t size) {
  namespace bhttp = boost::beast::http;
  bhttp::request_parser<bhttp::empty_body> parser;
  parser.eager(false);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return;
  stoa::http::Headers headers;
  bool has_transfer_encoding = false;
  for (const auto& field : parser.get()) {
    if (field.name() == bhttp::field::transfer_encoding) has_transfer_encoding = true;
    headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  auto verdict = stoa::http::check_request_framing(headers, parser.get().version());
  if (verdict && has_transfer_encoding && !parser.chunked()) {
    std::fprintf(stderr,
                 "framing accepted a Transfer-Encoding that Beast does not frame as "
                 "chunked\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_framing(data, size);
  exchange(data, size);
  return 0;
}
