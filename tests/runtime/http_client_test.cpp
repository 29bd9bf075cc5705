// The HTTP client against Stoa's own server (plain and TLS) and against raw sockets that
// misbehave on purpose. Every wait is bounded: a hung request fails the test, never hangs it.
#include "runtime/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "runtime/event_loop.h"
#include "runtime/http_server.h"
#include "runtime/router.h"
#include "runtime/server_observer.h"
#include "runtime/trace_context.h"
#include "support/run_sync.h"
#include "support/tls_fixture.h"

namespace stoa::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kBound = 10s;  // no single operation in these tests may take longer

std::string describe(const Result<Response>& result) {
  if (result.ok()) return "status " + std::to_string(result->status);
  return std::string(to_string(result.error().code)) + ": " + result.error().message;
}

ClientOptions options(const std::function<void(ClientOptions&)>& set) {
  ClientOptions result;
  set(result);
  return result;
}

ClientRequest request_to(std::string url) {
  ClientRequest request;
  request.url = std::move(url);
  return request;
}

// Polls `condition` until it holds or `bound` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds bound = 5s) {
  auto until = Clock::now() + bound;
  while (Clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

// An EventLoop with one context, run by a background thread until stop().
class LoopThread {
 public:
  LoopThread() : loop_(1), thread_([this] { loop_.run(); }) {}
  ~LoopThread() { stop(); }
  void stop() {
    if (thread_.joinable()) {
      loop_.stop();
      thread_.join();
    }
  }
  EventLoop& loop() { return loop_; }
  asio::io_context& context() { return loop_.context(0); }

 private:
  EventLoop loop_;
  std::thread thread_;
};

struct CountingObserver : ServerObserver {
  std::atomic<int> opened{0};
  std::atomic<int> closed{0};
  void connection_opened() override { ++opened; }
  void connection_closed() override { ++closed; }
};

// A listener on 127.0.0.1 with its own io_context and thread. Each accepted connection runs
// `behaviour`, a coroutine that may misbehave in any way a test needs.
class RawServer {
 public:
  using Behaviour = std::function<Awaitable<void>(tcp::socket&)>;

  explicit RawServer(Behaviour behaviour) : behaviour_(std::move(behaviour)) {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(context_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { context_.run(); });
  }
  ~RawServer() {
    context_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& target = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + target;
  }
  int accepted() const { return accepted_.load(); }
  int finished() const { return finished_.load(); }

 private:
  Awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      ++accepted_;
      asio::co_spawn(
          context_,
          [this, socket = std::move(socket)]() mutable -> Awaitable<void> {
            co_await behaviour_(socket);
            ++finished_;
          },
          asio::detached);
    }
  }

  asio::io_context context_{1};
  tcp::acceptor acceptor_{context_};
  Behaviour behaviour_;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<int> finished_{0};
  std::thread thread_;
};

// Reads one request head and body; false when the peer closed or sent garbage.
Awaitable<bool> read_request(tcp::socket& socket, beast::flat_buffer& buffer) {
  beast::http::request<beast::http::string_body> request;
  auto [ec, n] = co_await beast::http::async_read(socket, buffer, request, kNoThrow);
  co_return !ec;
}

Awaitable<bool> write_raw(tcp::socket& socket, const std::string& bytes) {
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), kNoThrow);
  co_return !ec;
}

// Waits for the peer to close (or for anything else to end the connection).
Awaitable<void> drain(tcp::socket& socket) {
  char scratch[1024];
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(scratch), kNoThrow);
    if (ec) co_return;
  }
}

const std::string kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// Answers every request on a connection with 200 "ok", keeping the connection open.
Awaitable<void> keep_alive_ok(tcp::socket& socket) {
  beast::flat_buffer buffer;
  while (co_await read_request(socket, buffer)) {
    if (!co_await write_raw(socket, kOk)) co_return;
  }
}

class HttpClientTest : public ::testing::Test {
 protected:
  void TearDown() override {
    // Nothing runs on the loop while the test's objects are destroyed.
    loop_.stop();
  }

  Server& start_server(Router router, ListenerOptions listener = {}) {
    listener.name = "client-test";
    auto server =
        std::make_unique<Server>(loop_.loop(), std::move(listener), ServerLimits{},
                                 std::make_shared<const Router>(std::move(router)), &observer_);
    server->start();
    servers_.push_back(std::move(server));
    return *servers_.back();
  }

  Client& make_client(ClientOptions options = {}) {
    clients_.push_back(std::make_unique<Client>(loop_.context(), std::move(options)));
    return *clients_.back();
  }

  // Runs a coroutine on the loop and waits for it, at most `bound`.
  template <class T>
  T on_loop(std::function<Awaitable<T>()> make, std::chrono::milliseconds bound = kBound) {
    return ::stoa::test::run_sync(loop_.loop(), std::move(make), bound);
  }

  Result<Response> send(Client& client, ClientRequest request,
                        std::chrono::milliseconds bound = kBound) {
    auto shared = std::make_shared<ClientRequest>(std::move(request));
    return on_loop<Result<Response>>(
        [&client, shared]() -> Awaitable<Result<Response>> {
          co_return co_await client.send(std::move(*shared));
        },
        bound);
  }

  Result<Response> get(Client& client, const std::string& url) {
    ClientRequest request;
    request.url = url;
    return send(client, std::move(request));
  }

  static std::string base_url(const Server& server, const std::string& scheme = "http",
                              const std::string& host = "127.0.0.1") {
    return scheme + "://" + host + ":" + std::to_string(server.port());
  }

  // Declaration order is destruction order in reverse: clients and servers go first (after
  // TearDown stopped the loop), then the loop, then the observer the servers report to.
  CountingObserver observer_;
  LoopThread loop_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::vector<std::unique_ptr<Client>> clients_;
};

// A router answering what the server saw of the request.
Router echo_router() {
  Router router;
  router.add("GET", "/v1/hello/{name}", [](Request& request) -> Awaitable<Response> {
    auto response = Response::text(200, "hello " + std::string(request.param("name").value()));
    response.headers.add("X-Seen-User-Agent",
                         std::string(request.headers.get("User-Agent").value_or("")));
    response.headers.add("X-Seen-Custom",
                         std::string(request.headers.get("X-Custom").value_or("")));
    response.headers.add("X-Seen-Host", std::string(request.headers.get("Host").value_or("")));
    response.headers.add("X-Seen-Query", request.query);
    co_return response;
  });
  router.add("POST", "/v1/echo", [](Request& request) -> Awaitable<Response> {
    auto response = Response::text(201, request.body);
    response.headers.add("X-Seen-Length",
                         std::string(request.headers.get("Content-Length").value_or("")));
    response.headers.add("X-Seen-Type",
                         std::string(request.headers.get("Content-Type").value_or("")));
    co_return response;
  });
  router.add("GET", "/v1/trace", [](Request& request) -> Awaitable<Response> {
    auto response = Response::text(200, "traced");
    response.headers.add("X-Seen-Traceparent",
                         std::string(request.headers.get("traceparent").value_or("")));
    response.headers.add("X-Seen-Tracestate",
                         std::string(request.headers.get("tracestate").value_or("")));
    co_return response;
  });
  router.add("GET", "/v1/slow", [](Request&) -> Awaitable<Response> {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(200ms);
    co_await timer.async_wait(kNoThrow);
    co_return Response::text(200, "slow");
  });
  return router;
}

TEST_F(HttpClientTest, GetRoundTripCarriesHeadersAndBody) {
  auto& server = start_server(echo_router());
  auto& client = make_client();
  ClientRequest request;
  request.url = base_url(server) + "/v1/hello/world?x=1";
  request.headers.add("X-Custom", "abc");
  auto result = send(client, std::move(request));
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "hello world");
  EXPECT_EQ(result->headers.get("X-Seen-Custom"), "abc");
  EXPECT_EQ(result->headers.get("X-Seen-User-Agent"), "stoa/" STOA_VERSION);
  EXPECT_EQ(result->headers.get("X-Seen-Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(result->headers.get("X-Seen-Query"), "x=1");
}

TEST_F(HttpClientTest, PostSendsBodyWithContentLength) {
  auto& server = start_server(echo_router());
  auto& client = make_client();
  ClientRequest request;
  request.method = "POST";
  request.url = base_url(server) + "/v1/echo";
  request.headers.add("Content-Type", "application/json");
  request.body = R"({"name":"stoa"})";
  auto result = send(client, std::move(request));
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result->status, 201);
  EXPECT_EQ(result->body, R"({"name":"stoa"})");
  EXPECT_EQ(result->headers.get("X-Seen-Length"), "15");
  EXPECT_EQ(result->headers.get("X-Seen-Type"), "application/json");
}

TEST_F(HttpClientTest, ErrorStatusesAreResponsesNotErrors) {
  auto& server = start_server(echo_router());
  auto& client = make_client();
  auto result = get(client, base_url(server) + "/v1/nothing-here");
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result->status, 404);
}

TEST_F(HttpClientTest, HeadResponseHasNoBodyAndKeepsTheConnectionUsable) {
  auto& server = start_server(echo_router());
  auto& client = make_client();
  ClientRequest head;
  head.method = "HEAD";
  head.url = base_url(server) + "/v1/hello/world";
  auto first = send(client, std::move(head));
  ASSERT_TRUE(first.ok()) << describe(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "");
  auto second = get(client, base_url(server) + "/v1/hello/again");
  ASSERT_TRUE(second.ok()) << describe(second);
  EXPECT_EQ(second->body, "hello again");
  EXPECT_EQ(observer_.opened.load(), 1);
}

TEST_F(HttpClientTest, ReusesKeepAliveConnections) {
  auto& server = start_server(echo_router());
  auto& client = make_client();
  for (int i = 0; i < 5; ++i) {
    auto result = get(client, base_url(server) + "/v1/hello/n" + std::to_string(i));
    ASSERT_TRUE(result.ok()) << describe(result);
    EXPECT_EQ(result->body, "hello n" + std::to_string(i));
    EXPECT_EQ(client.idle_connections(), 1u);
  }
  EXPECT_EQ(observer_.opened.load(), 1);
}

TEST_F(HttpClientTest, RawServerSeesOneConnectionForSequentialRequests) {
  RawServer raw(keep_alive_ok);
  auto& client = make_client();
  for (int i = 0; i < 4; ++i) {
    auto result = get(client, raw.url("/n"));
    ASSERT_TRUE(result.ok()) << describe(result);
    EXPECT_EQ(result->body, "ok");
  }
  EXPECT_EQ(raw.accepted(), 1);
}

TEST_F(HttpClientTest, PoolKeepsAtMostMaxIdlePerUpstream) {
  auto& server = start_server(echo_router());
  auto& client = make_client(options([&](ClientOptions& o) { o.max_idle_per_upstream = 2; }));
  // Three requests at once need three connections; only two stay in the pool.
  auto url = base_url(server) + "/v1/slow";
  struct Batch {
    explicit Batch(asio::any_io_executor executor) : wake(executor) {}
    asio::steady_timer wake;
    int done = 0;
    int ok = 0;
  };
  auto results = on_loop<int>([&client, url]() -> Awaitable<int> {
    auto batch = std::make_shared<Batch>(co_await asio::this_coro::executor);
    for (int i = 0; i < 3; ++i) {
      asio::co_spawn(
          batch->wake.get_executor(),
          [&client, url, batch]() -> Awaitable<void> {
            ClientRequest request;
            request.url = url;
            auto result = co_await client.send(std::move(request));
            if (result.ok()) ++batch->ok;
            if (++batch->done == 3) batch->wake.cancel();
          },
          asio::detached);
    }
    batch->wake.expires_after(kBound);
    co_await batch->wake.async_wait(kNoThrow);
    co_return batch->done == 3 ? batch->ok : -1;
  });
  EXPECT_EQ(results, 3);
  EXPECT_EQ(observer_.opened.load(), 3);
  EXPECT_EQ(client.idle_connections(), 2u);
}

TEST_F(HttpClientTest, PropagatesTraceContext) {
  auto& server = start_server(echo_router());
  auto& client = make_client();
  TraceContext caller = TraceContext::child_of(TraceContext{});
  caller.tracestate = "stoa=abc";
  ASSERT_TRUE(caller.valid());
  ClientRequest request;
  request.url = base_url(server) + "/v1/trace";
  request.trace = caller;
  auto result = send(client, std::move(request));
  ASSERT_TRUE(result.ok()) << describe(result);
  auto header = std::string(result->headers.get("X-Seen-Traceparent").value_or(""));
  auto seen = parse_traceparent(header);
  ASSERT_TRUE(seen.has_value()) << "traceparent seen by the server: '" << header << "'";
  EXPECT_EQ(seen->trace_id, caller.trace_id);
  EXPECT_EQ(seen->span_id, caller.span_id);  // the callee's parent is the caller's span
  EXPECT_EQ(result->headers.get("X-Seen-Tracestate"), "stoa=abc");

  // Without a trace context nothing is sent.
  auto untraced = get(client, base_url(server) + "/v1/trace");
  ASSERT_TRUE(untraced.ok()) << describe(untraced);
  EXPECT_EQ(untraced->headers.get("X-Seen-Traceparent"), "");
}

TEST_F(HttpClientTest, HttpsWithVerifiedSelfSignedCertificate) {
  test::TlsFixture tls;
  ListenerOptions listener;
  listener.tls_cert_file = tls.cert_file();
  listener.tls_key_file = tls.key_file();
  auto& server = start_server(echo_router(), listener);
  auto& client = make_client(options([&](ClientOptions& o) {
    o.verify_tls = true;
    o.ca_file = tls.cert_file();
  }));
  for (const char* host : {"localhost", "127.0.0.1"}) {
    auto result = get(client, base_url(server, "https", host) + "/v1/hello/tls");
    ASSERT_TRUE(result.ok()) << host << ": " << describe(result);
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->body, "hello tls");
  }
  // The pool keys on the host as written: one idle connection per upstream.
  EXPECT_EQ(client.idle_connections(), 2u);
  auto again = get(client, base_url(server, "https", "localhost") + "/v1/hello/again");
  ASSERT_TRUE(again.ok()) << describe(again);
  EXPECT_EQ(observer_.opened.load(), 2);
}

TEST_F(HttpClientTest, HttpsFailsAgainstTheWrongCa) {
  test::TlsFixture tls;
  test::TlsFixture other;
  ListenerOptions listener;
  listener.tls_cert_file = tls.cert_file();
  listener.tls_key_file = tls.key_file();
  auto& server = start_server(echo_router(), listener);
  auto& client = make_client(options([&](ClientOptions& o) {
    o.verify_tls = true;
    o.ca_file = other.cert_file();
  }));
  auto result = get(client, base_url(server, "https", "localhost") + "/v1/hello/tls");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::unavailable) << result.error().message;
  EXPECT_NE(result.error().message.find("certificate"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientTest, HttpsChecksTheHostName) {
  // The certificate names localhost and 127.0.0.1; 127.0.0.2 is loopback too, but not named.
  test::TlsFixture tls;
  ListenerOptions listener;
  listener.host = "127.0.0.2";
  listener.tls_cert_file = tls.cert_file();
  listener.tls_key_file = tls.key_file();
  auto& server = start_server(echo_router(), listener);
  auto& verifying = make_client(options([&](ClientOptions& o) {
    o.verify_tls = true;
    o.ca_file = tls.cert_file();
  }));
  auto result = get(verifying, base_url(server, "https", "127.0.0.2") + "/v1/hello/tls");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::unavailable) << result.error().message;
  EXPECT_NE(result.error().message.find("mismatch"), std::string::npos) << result.error().message;

  auto& trusting = make_client(options([&](ClientOptions& o) { o.verify_tls = false; }));
  auto unchecked = get(trusting, base_url(server, "https", "127.0.0.2") + "/v1/hello/tls");
  ASSERT_TRUE(unchecked.ok()) << describe(unchecked);
  EXPECT_EQ(unchecked->body, "hello tls");
}

TEST_F(HttpClientTest, TimesOutWhenTheServerNeverAnswers) {
  RawServer silent(drain);
  auto& client = make_client(options([&](ClientOptions& o) { o.request_timeout = 300ms; }));
  auto start = Clock::now();
  auto result = get(client, silent.url());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::timeout) << result.error().message;
  EXPECT_LT(Clock::now() - start, 5s);

  // A per-request timeout overrides the client's.
  auto& patient = make_client(options([&](ClientOptions& o) { o.request_timeout = 60s; }));
  ClientRequest request;
  request.url = silent.url();
  request.timeout = 200ms;
  auto overridden = send(patient, std::move(request));
  ASSERT_FALSE(overridden.ok());
  EXPECT_EQ(overridden.error().code, Errc::timeout) << overridden.error().message;
  // The server sees the timed-out connections closed.
  EXPECT_TRUE(eventually([&] { return silent.finished() == 2; }));
}

TEST_F(HttpClientTest, TimesOutOnABodyThatTrickles) {
  // Headers arrive at once, the body never completes: the deadline covers the last byte.
  RawServer trickle([](tcp::socket& socket) -> Awaitable<void> {
    beast::flat_buffer buffer;
    if (!co_await read_request(socket, buffer)) co_return;
    if (!co_await write_raw(socket, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")) {
      co_return;
    }
    co_await drain(socket);
  });
  auto& client = make_client(options([&](ClientOptions& o) { o.request_timeout = 300ms; }));
  auto result = get(client, trickle.url());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::timeout) << result.error().message;
}

TEST_F(HttpClientTest, OversizedBodyIsTooLarge) {
  RawServer big([](tcp::socket& socket) -> Awaitable<void> {
    beast::flat_buffer buffer;
    if (!co_await read_request(socket, buffer)) co_return;
    std::string body(64 * 1024, 'x');
    co_await write_raw(socket, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                                   "\r\n\r\n" + body);
    co_await drain(socket);
  });
  auto& client = make_client(options([&](ClientOptions& o) { o.max_response_bytes = 1024; }));
  auto result = get(client, big.url());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::too_large) << result.error().message;
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientTest, OversizedChunkedBodyIsTooLarge) {
  RawServer big([](tcp::socket& socket) -> Awaitable<void> {
    beast::flat_buffer buffer;
    if (!co_await read_request(socket, buffer)) co_return;
    if (!co_await write_raw(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) {
      co_return;
    }
    std::string chunk = "400\r\n" + std::string(1024, 'y') + "\r\n";
    for (int i = 0; i < 64; ++i) {
      if (!co_await write_raw(socket, chunk)) co_return;
    }
    co_await write_raw(socket, "0\r\n\r\n");
    co_await drain(socket);
  });
  auto& client = make_client(options([&](ClientOptions& o) { o.max_response_bytes = 4096; }));
  auto result = get(client, big.url());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::too_large) << result.error().message;
}

TEST_F(HttpClientTest, OversizedHeaderIsTooLarge) {
  RawServer flood([](tcp::socket& socket) -> Awaitable<void> {
    beast::flat_buffer buffer;
    if (!co_await read_request(socket, buffer)) co_return;
    std::string head = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 5000; ++i) head += "X-Flood-" + std::to_string(i) + ": " + "zzzzzzzz\r\n";
    co_await write_raw(socket, head + "Content-Length: 0\r\n\r\n");
    co_await drain(socket);
  });
  auto& client = make_client();
  auto result = get(client, flood.url());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::too_large) << result.error().message;
}

TEST_F(HttpClientTest, GarbageIsAProtocolError) {
  RawServer garbage([](tcp::socket& socket) -> Awaitable<void> {
    beast::flat_buffer buffer;
    if (!co_await read_request(socket, buffer)) co_return;
    co_await write_raw(socket, "SMTP ready, not HTTP at all\r\n\r\n");
    co_await drain(socket);
  });
  auto& client = make_client();
  auto result = get(client, garbage.url());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::protocol) << result.error().message;
}

TEST_F(HttpClientTest, TruncatedBodyIsAProtocolError) {
  RawServer cut([](tcp::socket& socket) -> Awaitable<void> {
    beast::flat_buffer buffer;
    if (!co_await read_request(socket, buffer)) co_return;
    co_await write_raw(socket, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    // Returning closes the socket mid-body.
  });
  auto& client = make_client();
  auto result = get(client, cut.url());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::protocol) << result.error().message;
}

TEST_F(HttpClientTest, RefusedPortIsUnavailable) {
  std::uint16_t port = 0;
  {
    asio::io_context context;
    tcp::acceptor probe(context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }  // closed again: nothing listens there now
  auto& client = make_client();
  auto result = get(client, "http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::unavailable) << result.error().message;
}

TEST_F(HttpClientTest, ResolvesLocalhost) {
  RawServer raw(keep_alive_ok);
  auto& client = make_client();
  // localhost may resolve to ::1 first, where nothing listens: the client tries the next.
  auto result = get(client, "http://localhost:" + std::to_string(raw.port()) + "/");
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(result->body, "ok");
}

TEST_F(HttpClientTest, BadRequestsAreInvalidArguments) {
  auto& client = make_client();
  for (const char* url : {"not a url", "ftp://127.0.0.1/", "http:///path", "/relative",
                          "http://user:secret@127.0.0.1/", "http://127.0.0.1:99999/"}) {
    auto result = get(client, url);
    ASSERT_FALSE(result.ok()) << url;
    EXPECT_EQ(result.error().code, Errc::invalid_argument) << url;
  }
  ClientRequest injected;
  injected.url = "http://127.0.0.1:1/";
  injected.headers.add("X-Evil", "a\r\nSet-Cookie: b");
  auto result = send(client, std::move(injected));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::invalid_argument) << result.error().message;

  ClientRequest bad_method;
  bad_method.method = "GE T";
  bad_method.url = "http://127.0.0.1:1/";
  auto method_result = send(client, std::move(bad_method));
  ASSERT_FALSE(method_result.ok());
  EXPECT_EQ(method_result.error().code, Errc::invalid_argument);
}

TEST_F(HttpClientTest, ReconnectsWhenTheServerClosesAfterEachResponse) {
  // Keep-alive framing (no Connection: close), then the server hangs up anyway.
  RawServer rude([](tcp::socket& socket) -> Awaitable<void> {
    beast::flat_buffer buffer;
    if (!co_await read_request(socket, buffer)) co_return;
    co_await write_raw(socket, kOk);
  });
  auto& client = make_client();
  for (int i = 0; i < 3; ++i) {
    auto result = get(client, rude.url());
    ASSERT_TRUE(result.ok()) << i << ": " << describe(result);
    EXPECT_EQ(result->body, "ok");
  }
  EXPECT_EQ(rude.accepted(), 3);
}

TEST_F(HttpClientTest, RetriesIdempotentRequestsOnceWhenAPooledConnectionDies) {
  // Each connection answers its first request, then reads the second and hangs up without a
  // byte of response: what a server closing an idle connection at the wrong moment does.
  RawServer racy([](tcp::socket& socket) -> Awaitable<void> {
    beast::flat_buffer buffer;
    if (!co_await read_request(socket, buffer)) co_return;
    if (!co_await write_raw(socket, kOk)) co_return;
    co_await read_request(socket, buffer);
  });
  auto& client = make_client();
  auto first = get(client, racy.url());
  ASSERT_TRUE(first.ok()) << describe(first);
  ASSERT_EQ(client.idle_connections(), 1u);

  auto second = get(client, racy.url());  // pooled connection dies, GET goes again
  ASSERT_TRUE(second.ok()) << describe(second);
  EXPECT_EQ(racy.accepted(), 2);
  ASSERT_EQ(client.idle_connections(), 1u);

  ClientRequest post;
  post.method = "POST";
  post.url = racy.url();
  post.body = "not twice";
  auto third = send(client, std::move(post));  // POST is not retried
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, Errc::unavailable) << third.error().message;
  EXPECT_EQ(racy.accepted(), 2);
}

TEST_F(HttpClientTest, ConnectionCloseIsNotPooled) {
  RawServer closing([](tcp::socket& socket) -> Awaitable<void> {
    beast::flat_buffer buffer;
    if (!co_await read_request(socket, buffer)) co_return;
    co_await write_raw(socket,
                       "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
  });
  auto& client = make_client();
  for (int i = 0; i < 2; ++i) {
    auto result = get(client, closing.url());
    ASSERT_TRUE(result.ok()) << describe(result);
    EXPECT_EQ(client.idle_connections(), 0u);
  }
  EXPECT_EQ(closing.accepted(), 2);
}

TEST_F(HttpClientTest, IdleConnectionsCloseAfterIdleTimeout) {
  RawServer raw(keep_alive_ok);
  auto& client = make_client(options([&](ClientOptions& o) { o.idle_timeout = 100ms; }));
  auto result = get(client, raw.url());
  ASSERT_TRUE(result.ok()) << describe(result);
  EXPECT_EQ(client.idle_connections(), 1u);
  EXPECT_TRUE(eventually([&] { return client.idle_connections() == 0; }));
  EXPECT_TRUE(eventually([&] { return raw.finished() == 1; }));  // the server saw it close
}

TEST_F(HttpClientTest, DestroyingTheClientClosesIdleConnections) {
  RawServer raw(keep_alive_ok);
  auto client = std::make_unique<Client>(loop_.context());
  auto result = send(*client, request_to(raw.url()));
  ASSERT_TRUE(result.ok()) << describe(result);
  ASSERT_EQ(client->idle_connections(), 1u);
  on_loop<bool>([&client]() -> Awaitable<bool> {
    client.reset();
    co_return true;
  });
  EXPECT_TRUE(eventually([&] { return raw.finished() == 1; }));
}

TEST(HttpClient, ARequestInFlightSurvivesTheContextStopping) {
  RawServer silent(drain);
  auto context = std::make_unique<asio::io_context>(1);
  auto client = std::make_unique<Client>(*context);
  std::atomic<bool> completed{false};
  asio::co_spawn(
      *context,
      [&client, &completed, url = silent.url()]() -> Awaitable<void> {
        co_await client->send(request_to(url));
        completed = true;
      },
      asio::detached);
  std::thread runner([&] { context->run(); });
  EXPECT_TRUE(eventually([&] { return silent.accepted() == 1; }));
  context->stop();
  runner.join();
  EXPECT_FALSE(completed.load());
  // The client goes first, the suspended request (holding the client's state) with the
  // context: neither may touch freed memory (run under the sanitizers to see it).
  client.reset();
  context.reset();
  EXPECT_TRUE(eventually([&] { return silent.finished() == 1; }));
}

}  // namespace
}  // namespace stoa::http
