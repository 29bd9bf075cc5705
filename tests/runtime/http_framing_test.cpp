// Request framing (RFC 9112 §6): a Transfer-Encoding the server cannot frame by is refused
// before any body byte is read, so that a body can never be parsed as a second request
// (request smuggling). The decision on its own, then a real server on loopback fed the
// smuggling variants over raw sockets; and every early refusal carries an X-Request-Id.
#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "runtime/http_framing.h"
#include "support/loopback_server.h"
#include "support/raw_http.h"

namespace stoa::http {
namespace {

using namespace std::chrono_literals;
using test::body_of;
using test::header_of;
using test::RawConnection;
using test::status_of;

Headers with_te(std::initializer_list<std::string> values) {
  Headers headers;
  headers.add("Host", "x");
  for (const auto& v : values) headers.add("Transfer-Encoding", v);
  return headers;
}

TEST(RequestFraming, NoTransferEncodingIsContentLengthFraming) {
  Headers headers;
  headers.add("Content-Length", "5");
  EXPECT_TRUE(check_request_framing(headers, 11));
  EXPECT_TRUE(check_request_framing(headers, 10));
}

TEST(RequestFraming, ChunkedAloneIsAccepted) {
  EXPECT_TRUE(check_request_framing(with_te({"chunked"}), 11));
  EXPECT_TRUE(check_request_framing(with_te({"Chunked"}), 11));
  EXPECT_TRUE(check_request_framing(with_te({" chunked\t"}), 11));
  EXPECT_TRUE(check_request_framing(with_te({"chunked, "}), 11));  // empty list elements
  EXPECT_TRUE(check_request_framing(with_te({",chunked"}), 11));
}

TEST(RequestFraming, AFinalCodingOtherThanChunkedIs400) {
  for (const char* value : {"identity", "chunked, identity", "xchunked", "chunkedx", "gzip",
                            "chunked;q=1", "chunked , gzip", "\"chunked\"", "chunked\x0b"}) {
    EXPECT_EQ(check_request_framing(with_te({value}), 11).status, 400) << value;
  }
  // Split over two fields, the last one decides.
  EXPECT_EQ(check_request_framing(with_te({"chunked", "identity"}), 11).status, 400);
}

TEST(RequestFraming, ChunkedTwiceOrAnEmptyListIs400) {
  EXPECT_EQ(check_request_framing(with_te({"chunked, chunked"}), 11).status, 400);
  EXPECT_EQ(check_request_framing(with_te({"chunked", "chunked"}), 11).status, 400);
  EXPECT_EQ(check_request_framing(with_te({""}), 11).status, 400);
  EXPECT_EQ(check_request_framing(with_te({" , "}), 11).status, 400);
}

TEST(RequestFraming, AnotherCodingBeforeChunkedIs501) {
  EXPECT_EQ(check_request_framing(with_te({"gzip, chunked"}), 11).status, 501);
  EXPECT_EQ(check_request_framing(with_te({"identity, chunked"}), 11).status, 501);
  EXPECT_EQ(check_request_framing(with_te({"identity", "chunked"}), 11).status, 501);
}

TEST(RequestFraming, TransferEncodingInHttp10Is400) {
  EXPECT_EQ(check_request_framing(with_te({"chunked"}), 10).status, 400);
}

class FramingServer : public ::testing::Test {
 protected:
  void SetUp() override {
    auto router = std::make_shared<Router>();
    router->add("POST", "/echo", [](Request& r) -> Awaitable<Response> {
      co_return Response::text(200, "echo:" + r.body);
    });
    router->add(
        "POST", "/stream",
        [](Request& r) -> Awaitable<Response> {
          std::string body, buffer(1024, '\0');
          for (;;) {
            Result<std::size_t> n = co_await r.body_stream->read(buffer);
            if (!n || *n == 0) break;
            body.append(buffer.data(), *n);
          }
          co_return Response::text(200, "stream:" + body);
        },
        RouteOptions{.max_body_bytes = 1024, .stream_body = true});
    router->add("GET", "/smuggled",
                [](Request&) -> Awaitable<Response> { co_return Response::text(200, "smuggled"); });
    ServerLimits limits;
    limits.max_header_bytes = 1024;
    limits.max_body_bytes = 64;
    server_ = std::make_unique<test::LoopbackServer>(router, limits, "framing-test");
  }
  std::uint16_t port() const { return server_->port(); }

  std::unique_ptr<test::LoopbackServer> server_;
};

// A POST framed by `te` whose body is a complete second request. The server must answer the
// POST alone and close: the smuggled GET is never served.
void expect_refused_without_smuggling(std::uint16_t port, const std::string& path,
                                      const std::string& te, int status,
                                      const std::string& version = "HTTP/1.1") {
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  RawConnection c(port);
  ASSERT_TRUE(c.send("POST " + path + " " + version + "\r\nHost: x\r\nTransfer-Encoding: " + te +
                     "\r\n\r\n" + smuggled));
  auto all = c.read_until_closed(5s);
  ASSERT_TRUE(all.has_value()) << "the connection stayed open after: " << te;
  EXPECT_EQ(status_of(*all), status) << te << "\n" << *all;
  EXPECT_EQ(header_of(*all, "Connection"), "close") << te;
  EXPECT_EQ(header_of(*all, "Content-Type"), "application/problem+json") << te;
  EXPECT_FALSE(header_of(*all, "X-Request-Id").empty()) << te;
  EXPECT_EQ(all->find("smuggled"), std::string::npos) << te << "\n" << *all;
  EXPECT_EQ(all->find("HTTP/1.1", 1), std::string::npos) << "a second response: " << *all;
}

TEST_F(FramingServer, EveryNonChunkedFinalCodingIsRefusedWith400AndClosed) {
  for (const std::string path : {"/echo", "/stream"}) {
    for (const char* te : {"identity", "chunked, identity", "xchunked", "chunked,identity",
                           "Chunked ,  Identity", "chunked, chunked", "chunked;ext=1"}) {
      SCOPED_TRACE(path + " " + te);
      expect_refused_without_smuggling(port(), path, te, 400);
    }
  }
}

TEST_F(FramingServer, AnUnknownCodingBeforeChunkedIs501AndClosed) {
  for (const std::string path : {"/echo", "/stream"}) {
    for (const char* te : {"gzip, chunked", "identity, chunked", "x-custom,chunked"}) {
      SCOPED_TRACE(path + " " + te);
      expect_refused_without_smuggling(port(), path, te, 501);
    }
  }
}

TEST_F(FramingServer, TransferEncodingSplitOverTwoFieldsIsJudgedAsOneList) {
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  RawConnection c(port());
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: "
             "chunked\r\n\r\n0\r\n\r\n" +
             smuggled));
  auto all = c.read_until_closed(5s);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(status_of(*all), 501) << *all;
  EXPECT_EQ(all->find("smuggled"), std::string::npos) << *all;
}

TEST_F(FramingServer, TransferEncodingWithContentLengthIsRefused) {
  // Beast frames this by Content-Length once Transfer-Encoding is not chunked.
  RawConnection c(port());
  ASSERT_TRUE(c.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 36\r\n\r\n"
      "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto all = c.read_until_closed(5s);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(status_of(*all), 400) << *all;
  EXPECT_EQ(all->find("smuggled"), std::string::npos) << *all;
}

TEST_F(FramingServer, TransferEncodingInAnHttp10RequestIsRefused) {
  expect_refused_without_smuggling(port(), "/echo", "chunked", 400, "HTTP/1.0");
}

TEST_F(FramingServer, ChunkedAloneStillWorksAndKeepsTheConnection) {
  for (const std::string path : {"/echo", "/stream"}) {
    RawConnection c(port());
    ASSERT_TRUE(c.send("POST " + path +
                       " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n0\r\n\r\n"));
    auto first = c.read_response();
    EXPECT_EQ(status_of(first), 200) << first;
    EXPECT_EQ(body_of(first), path.substr(1) + ":hello");
    ASSERT_TRUE(c.send("GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(body_of(c.read_response()), "smuggled");
  }
}

// docs/runtime.md: every response carries X-Request-Id, the early refusals included.
TEST_F(FramingServer, AMalformedRequestLineIsAnsweredWithARequestId) {
  RawConnection c(port());
  ASSERT_TRUE(c.send("GARBAGE\r\n\r\n"));
  auto all = c.read_until_closed(5s);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(status_of(*all), 400) << *all;
  EXPECT_EQ(header_of(*all, "X-Request-Id").size(), 32u) << *all;
}

TEST_F(FramingServer, HeadersOverTheLimitAreAnsweredWith431AndARequestId) {
  RawConnection c(port());
  ASSERT_TRUE(
      c.send("GET /smuggled HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2048, 'a') + "\r\n\r\n"));
  auto all = c.read_until_closed(5s);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(status_of(*all), 431) << *all;
  EXPECT_FALSE(header_of(*all, "X-Request-Id").empty()) << *all;
}

TEST_F(FramingServer, ABodyOverTheLimitIsAnswered413WithTheClientsRequestId) {
  RawConnection c(port());
  ASSERT_TRUE(c.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: client-id-7\r\nContent-Length: 100\r\n\r\n" +
      std::string(100, 'b')));
  auto all = c.read_until_closed(5s);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(status_of(*all), 413) << *all;
  EXPECT_EQ(header_of(*all, "X-Request-Id"), "client-id-7") << *all;
}

TEST_F(FramingServer, AChunkedBodyPassingTheLimitIsAnswered413WithARequestId) {
  RawConnection c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n80\r\n" +
                     std::string(128, 'b') + "\r\n0\r\n\r\n"));
  auto all = c.read_until_closed(5s);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(status_of(*all), 413) << *all;
  EXPECT_FALSE(header_of(*all, "X-Request-Id").empty()) << *all;
}

}  // namespace
}  // namespace stoa::http
