// Streamed request bodies (RouteOptions::stream_body): the handler pulls the body from the
// connection as it goes. A real server on loopback, spoken to over raw sockets.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/event_loop.h"
#include "runtime/http_server.h"
#include "runtime/router.h"
#include "support/loopback_server.h"
#include "support/raw_http.h"

namespace stoa::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::body_of;
using test::header_of;
using test::RawConnection;
using test::status_of;

// Deterministic test bytes, so that a body's checksum says whether it arrived whole and in order.
std::string pattern(std::size_t size, std::size_t offset = 0) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    std::size_t k = i + offset;
    out[i] = static_cast<char>((k * 131 + k / 7) & 0xff);
  }
  return out;
}

std::uint64_t fnv1a(std::string_view bytes, std::uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::string chunked(const std::string& body, std::size_t piece) {
  std::string out;
  char size[32];
  for (std::size_t at = 0; at < body.size(); at += piece) {
    std::size_t n = std::min(piece, body.size() - at);
    std::snprintf(size, sizeof size, "%zx\r\n", n);
    out += size + body.substr(at, n) + "\r\n";
  }
  return out + "0\r\n\r\n";
}

struct Counters {
  std::atomic<int> calls{0};
  std::atomic<bool> release{false};  // the gated route waits for it before reading
  std::atomic<int> timeouts{0};      // reads that failed with Errc::timeout
};

// Reads the body in `chunk`-byte reads until its end, or until `stop_after` bytes. Answers
// "<bytes> <fnv1a>", or "error:<code>" with the error's message in X-Error.
Awaitable<Response> consume(Request& request, std::size_t chunk, std::size_t stop_after,
                            Counters* counters = nullptr) {
  std::string buffer(chunk, '\0');
  std::uint64_t total = 0, h = 1469598103934665603ULL;
  while (total < stop_after) {
    Result<std::size_t> n = co_await request.body_stream->read(buffer);
    if (!n) {
      if (counters && n.error().code == Errc::timeout) ++counters->timeouts;
      Response r = Response::text(400, std::string("error:") + to_string(n.error().code));
      r.headers.add("X-Error", n.error().message);
      co_return r;
    }
    if (*n == 0) break;
    h = fnv1a(std::string_view(buffer.data(), *n), h);
    total += *n;
  }
  co_return Response::text(200, std::to_string(total) + " " + std::to_string(h));
}

std::string expected(const std::string& body) {
  return std::to_string(body.size()) + " " + std::to_string(fnv1a(body));
}

class StreamedBodies : public ::testing::Test {
 protected:
  void SetUp() override {
    auto router = std::make_shared<Router>();
    auto counters = counters_;
    RouteOptions streamed{.max_body_bytes = 1024 * 1024, .stream_body = true};
    router->add(
        "PUT", "/upload",
        [counters](Request& r) {
          ++counters->calls;
          return consume(r, 4096, SIZE_MAX, counters.get());
        },
        streamed);
    router->add(
        "PUT", "/first",
        [counters](Request& r) {
          ++counters->calls;
          return consume(r, 10, 10);
        },
        RouteOptions{.max_body_bytes = 64 * 1024 * 1024, .stream_body = true});
    router->add(
        "PUT", "/refuse",
        [counters](Request&) -> Awaitable<Response> {
          ++counters->calls;
          co_return Response::text(403, "no");
        },
        streamed);
    router->add(
        "PUT", "/gated",
        [counters](Request& r) -> Awaitable<Response> {
          ++counters->calls;
          asio::steady_timer timer(co_await asio::this_coro::executor);
          while (!counters->release.load()) {
            timer.expires_after(10ms);
            co_await timer.async_wait(asio::use_awaitable);
          }
          Response response = co_await consume(r, 64 * 1024, SIZE_MAX);
          co_return response;
        },
        RouteOptions{.max_body_bytes = 256 * 1024 * 1024, .stream_body = true});
    router->add(
        "PUT", "/xml",
        [counters](Request& r) {
          ++counters->calls;
          return consume(r, 4096, SIZE_MAX);
        },
        RouteOptions{.max_body_bytes = 1000,
                     .stream_body = true,
                     .too_large = [](const Request& r, std::uint64_t limit) {
                       Response response = Response::text(400, "<TooBig/>");
                       response.headers.add("X-Limit", std::to_string(limit));
                       response.headers.add("X-Path", r.path);
                       return response;
                     }});
    router->add("PUT", "/whole", [](Request& r) -> Awaitable<Response> {
      co_return Response::text(200, expected(r.body) + (r.body_stream ? " streamed" : ""));
    });
    ServerLimits limits;
    limits.body_timeout = 500ms;
    server_ = std::make_unique<test::LoopbackServer>(router, limits, "stream-test");
  }
  void TearDown() override { server_.reset(); }
  std::uint16_t port() const { return server_->port(); }

  std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
  std::unique_ptr<test::LoopbackServer> server_;
};

std::string put(const std::string& path, const std::string& headers, const std::string& body) {
  return "PUT " + path + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n" + body;
}

std::string content_length(std::size_t n) {
  return "Content-Length: " + std::to_string(n) + "\r\n";
}

TEST_F(StreamedBodies, ContentLengthBodyReachesTheHandlerWholeAndTheConnectionStaysOpen) {
  RawConnection c(port());
  std::string body = pattern(300 * 1024 + 17);
  ASSERT_TRUE(c.send(put("/upload", content_length(body.size()), body)));
  auto first = c.read_response();
  EXPECT_EQ(status_of(first), 200) << first;
  EXPECT_EQ(body_of(first), expected(body));
  // Keep-alive: the next request on the same connection, with an empty body.
  ASSERT_TRUE(c.send(put("/upload", content_length(0), "")));
  auto second = c.read_response();
  EXPECT_EQ(body_of(second), expected(""));
}

TEST_F(StreamedBodies, ChunkedBodyReachesTheHandlerWhole) {
  RawConnection c(port());
  std::string body = pattern(200 * 1024 + 3);
  ASSERT_TRUE(c.send(put("/upload", "Transfer-Encoding: chunked\r\n", chunked(body, 7000))));
  auto response = c.read_response();
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_EQ(body_of(response), expected(body));
  ASSERT_TRUE(c.send(put("/upload", content_length(5), "hello")));
  EXPECT_EQ(body_of(c.read_response()), expected("hello"));
}

TEST_F(StreamedBodies, OtherRoutesStillGetTheWholeBody) {
  RawConnection c(port());
  std::string body = pattern(70 * 1024);
  ASSERT_TRUE(c.send(put("/whole", content_length(body.size()), body)));
  EXPECT_EQ(body_of(c.read_response()), expected(body));
}

TEST_F(StreamedBodies, DeclaredLengthOverTheLimitGets413BeforeTheHandlerRuns) {
  RawConnection c(port());
  ASSERT_TRUE(c.send(put("/upload", content_length(2 * 1024 * 1024), "")));
  auto rest = c.read_until_closed(5s);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(status_of(*rest), 413);
  EXPECT_EQ(header_of(*rest, "Content-Type"), "application/problem+json");
  EXPECT_EQ(counters_->calls.load(), 0);
}

TEST_F(StreamedBodies, ARouteAnswersOversizeInItsOwnFormat) {
  RawConnection c(port());
  ASSERT_TRUE(c.send(put("/xml", content_length(5000), "")));
  auto rest = c.read_until_closed(5s);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(status_of(*rest), 400);
  EXPECT_EQ(body_of(*rest), "<TooBig/>");
  EXPECT_EQ(header_of(*rest, "X-Limit"), "1000");
  EXPECT_EQ(header_of(*rest, "X-Path"), "/xml");
  EXPECT_EQ(header_of(*rest, "Connection"), "close");
  EXPECT_EQ(counters_->calls.load(), 0);
}

TEST_F(StreamedBodies, ChunkedBodyPassingTheLimitFailsTheReadAndClosesTheConnection) {
  RawConnection c(port());
  std::string body = pattern(1536 * 1024);
  ASSERT_TRUE(c.send(put("/upload", "Transfer-Encoding: chunked\r\n", chunked(body, 64 * 1024))));
  auto rest = c.read_until_closed(5s);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(body_of(*rest), "error:too_large") << *rest;
  EXPECT_NE(header_of(*rest, "X-Error").find("1048576"), std::string::npos);
  EXPECT_EQ(header_of(*rest, "Connection"), "close");
}

TEST_F(StreamedBodies, MalformedChunkedFramingIsAProtocolError) {
  RawConnection c(port());
  ASSERT_TRUE(c.send(put("/upload", "Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n")));
  auto rest = c.read_until_closed(5s);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(body_of(*rest), "error:protocol") << *rest;
}

TEST_F(StreamedBodies, ExpectContinueIsAnsweredWhenTheHandlerFirstReads) {
  RawConnection c(port());
  std::string body = pattern(5000);
  ASSERT_TRUE(c.send(put("/upload", content_length(body.size()) + "Expect: 100-continue\r\n", "")));
  EXPECT_EQ(status_of(c.read_response(2s)), 100);
  ASSERT_TRUE(c.send(body));
  auto response = c.read_response();
  EXPECT_EQ(body_of(response), expected(body));
  EXPECT_NE(header_of(response, "Connection"), "close");
}

TEST_F(StreamedBodies, AHandlerRefusingBeforeReadingSparesTheClientTheBody) {
  RawConnection c(port());
  ASSERT_TRUE(c.send(put("/refuse", content_length(900'000) + "Expect: 100-continue\r\n", "")));
  // No 100 Continue: the final answer comes first, and the connection closes (the client
  // might send the body anyway, and its framing would have to be skipped).
  auto rest = c.read_until_closed(5s);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(status_of(*rest), 403) << *rest;
  EXPECT_EQ(header_of(*rest, "Connection"), "close");
}

TEST_F(StreamedBodies, AShortUnreadRestIsDrainedAndTheConnectionServesTheNextRequest) {
  RawConnection c(port());
  std::string body = pattern(100 * 1024);
  ASSERT_TRUE(c.send(put("/first", content_length(body.size()), body)));
  auto response = c.read_response();
  EXPECT_EQ(body_of(response), expected(body.substr(0, 10)));
  EXPECT_NE(header_of(response, "Connection"), "close");
  ASSERT_TRUE(c.send(put("/upload", content_length(3), "abc")));
  EXPECT_EQ(body_of(c.read_response()), expected("abc"));
}

TEST_F(StreamedBodies, ALongUnreadRestClosesTheConnectionAfterTheResponse) {
  RawConnection c(port());
  std::string body = pattern(3 * 1024 * 1024);
  // The server answers after 10 bytes and then reads (and drops) the rest while it closes,
  // so this send completes and the response is not lost to a reset.
  ASSERT_TRUE(c.send(put("/first", content_length(body.size()), body)));
  auto rest = c.read_until_closed(5s);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(body_of(*rest), expected(body.substr(0, 10))) << rest->substr(0, 200);
  EXPECT_EQ(header_of(*rest, "Connection"), "close");

  // The same with a chunked body.
  RawConnection d(port());
  ASSERT_TRUE(d.send(put("/first", "Transfer-Encoding: chunked\r\n", chunked(body, 100'000))));
  auto chunked_rest = d.read_until_closed(5s);
  ASSERT_TRUE(chunked_rest.has_value());
  EXPECT_EQ(body_of(*chunked_rest), expected(body.substr(0, 10)));
  EXPECT_EQ(header_of(*chunked_rest, "Connection"), "close");
}

TEST_F(StreamedBodies, AStalledSenderIsCutOff) {
  RawConnection c(port());
  ASSERT_TRUE(c.send(put("/upload", content_length(10'000), pattern(4000))));
  // Nothing more comes: after [http] body_timeout (500 ms here) the server closes the
  // connection and the handler's read fails with a timeout.
  auto rest = c.read_until_closed(10s);
  EXPECT_TRUE(rest.has_value()) << "the connection stayed open";
  for (int i = 0; i < 100 && counters_->timeouts.load() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(counters_->timeouts.load(), 1);
}

TEST_F(StreamedBodies, TheConnectionIsReadOnlyAsFastAsTheHandlerConsumes) {
  // A raw non-blocking socket: how much of a 64 MiB body gets into the server while its
  // handler reads nothing? Only what the socket buffers and one read buffer hold.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port());
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::size_t total = 64 * 1024 * 1024;
  std::string head = put("/gated", content_length(total), "");
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

  std::uint64_t h = 1469598103934665603ULL;
  std::size_t sent = 0;
  auto send_some = [&](int wait_ms) -> bool {  // false when the socket stays full
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, wait_ms) <= 0) return false;
    std::string piece = pattern(std::min<std::size_t>(256 * 1024, total - sent), sent);
    ssize_t n = ::send(fd, piece.data(), piece.size(), MSG_NOSIGNAL);
    if (n <= 0) return n < 0 && errno == EAGAIN;
    h = fnv1a(std::string_view(piece.data(), static_cast<std::size_t>(n)), h);
    sent += static_cast<std::size_t>(n);
    return true;
  };
  while (sent < total && send_some(500)) {
  }
  EXPECT_LT(sent, total / 2) << "the server took the body although its handler read none of it";

  counters_->release = true;
  while (sent < total) ASSERT_TRUE(send_some(10'000)) << "stuck after " << sent << " bytes";
  std::string response;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
    if (response.find("\r\n\r\n") != std::string::npos &&
        body_of(response).size() >= std::stoul(header_of(response, "Content-Length")))
      break;
  }
  ::close(fd);
  EXPECT_EQ(body_of(response), std::to_string(total) + " " + std::to_string(h));
}

}  // namespace
}  // namespace stoa::http
