// `stoa up` as a user runs it, spoken to over real sockets: health, metrics, traces, and
// the bad input a public listener gets.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <gtest/gtest.h>

#include "support/raw_http.h"
#include "support/stoa_process.h"

namespace stoa::test {
namespace {

using namespace std::chrono_literals;

class StoaUp : public ::testing::Test {
 protected:
  void SetUp() override {
    process_ = std::make_unique<StoaProcess>(std::vector<std::string>{"up"}, env_);
    ASSERT_TRUE(process_->wait_ready()) << process_->log();
  }
  void TearDown() override {
    if (HasFailure() && process_) std::fprintf(stderr, "stoa log:\n%s\n", process_->log().c_str());
  }
  std::map<std::string, std::string> env_{{"STOA_HTTP_HEADER_TIMEOUT", "1s"},
                                          {"STOA_HTTP_MAX_BODY_BYTES", "64KiB"}};
  std::unique_ptr<StoaProcess> process_;
};

TEST_F(StoaUp, HealthzAndReadyz) {
  auto health = http_get(process_->admin_port, "/healthz");
  EXPECT_EQ(status_of(health), 200);
  EXPECT_NE(body_of(health).find("\"ok\""), std::string::npos);
  // On the defaults every check passes but "jwks": the JWKS URL is the auth service's, which
  // `stoa up` does not run yet (tests/runtime/jwt_systest.cpp has a file JWKS ready).
  auto ready = http_get(process_->admin_port, "/readyz");
  EXPECT_EQ(status_of(ready), 503) << ready;
  EXPECT_NE(body_of(ready).find("failing readiness checks: jwks\""), std::string::npos) << ready;
}

TEST_F(StoaUp, GatewayAnswersPingWithRequestId) {
  auto response = http_get(process_->gateway_port, "/v1/ping");
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(body_of(response), R"({"status":"ok"})");
  EXPECT_EQ(header_of(response, "X-Request-Id").size(), 32u);
  auto echoed = http_get(process_->gateway_port, "/v1/ping", "X-Request-Id: abc-123\r\n");
  EXPECT_EQ(header_of(echoed, "X-Request-Id"), "abc-123");
  auto replaced = http_get(process_->gateway_port, "/v1/ping", "X-Request-Id: <script>\r\n");
  EXPECT_EQ(header_of(replaced, "X-Request-Id").size(), 32u);
}

TEST_F(StoaUp, UnknownPathIsProblem404AndWrongMethodIs405WithAllow) {
  auto missing = http_get(process_->gateway_port, "/v1/nothing-here");
  EXPECT_EQ(status_of(missing), 404);
  EXPECT_EQ(header_of(missing, "Content-Type"), "application/problem+json");
  EXPECT_NE(body_of(missing).find("\"status\":404"), std::string::npos);

  RawConnection c(process_->gateway_port);
  c.send("DELETE /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n");
  auto wrong = c.read_response();
  EXPECT_EQ(status_of(wrong), 405);
  EXPECT_EQ(header_of(wrong, "Allow"), "GET, HEAD, OPTIONS");
  c.send("OPTIONS /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n");
  auto options = c.read_response();
  EXPECT_EQ(status_of(options), 204);
  EXPECT_EQ(header_of(options, "Allow"), "GET, HEAD, OPTIONS");
  c.send("HEAD /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head = c.read_response(2s);
  EXPECT_EQ(status_of(head), 200);
  EXPECT_EQ(header_of(head, "Content-Length"), "15");
  EXPECT_EQ(body_of(head), "");
}

TEST_F(StoaUp, KeepAliveAndPipelinedRequestsAreAnsweredInOrder) {
  RawConnection c(process_->gateway_port);
  c.send(
      "GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\n\r\n"
      "GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Request-Id: second\r\n\r\n"
      "GET /v1/nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: third\r\n\r\n");
  auto first = c.read_response();
  auto second = c.read_response();
  auto third = c.read_response();
  EXPECT_EQ(header_of(first, "X-Request-Id"), "first");
  EXPECT_EQ(header_of(second, "X-Request-Id"), "second");
  EXPECT_EQ(header_of(third, "X-Request-Id"), "third");
  EXPECT_EQ(status_of(third), 404);
}

TEST_F(StoaUp, MalformedRequestLineGets400AndTheConnectionCloses) {
  RawConnection c(process_->gateway_port);
  c.send("GARBAGE\x01 / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto rest = c.read_until_closed(5s);
  ASSERT_TRUE(rest.has_value()) << "the server kept the connection open";
  EXPECT_EQ(status_of(*rest), 400);
  EXPECT_EQ(header_of(*rest, "Content-Type"), "application/problem+json");
  EXPECT_FALSE(header_of(*rest, "X-Request-Id").empty()) << *rest;
}

TEST_F(StoaUp, TargetThatIsNotAPathGets400) {
  RawConnection c(process_->gateway_port);
  c.send("GET v1/ping HTTP/1.1\r\nHost: x\r\n\r\n");
  auto rest = c.read_until_closed(5s);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(status_of(*rest), 400);
}

TEST_F(StoaUp, TwentyKibHeaderGets431) {
  RawConnection c(process_->gateway_port);
  c.send("GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n");
  auto rest = c.read_until_closed(5s);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(status_of(*rest), 431);
  EXPECT_EQ(header_of(*rest, "Content-Type"), "application/problem+json");
  EXPECT_FALSE(header_of(*rest, "X-Request-Id").empty()) << *rest;
}

TEST_F(StoaUp, DeclaredBodyOverLimitGets413BeforeItIsSent) {
  RawConnection c(process_->gateway_port);
  c.send(
      "POST /v1/ping HTTP/1.1\r\nHost: x\r\nX-Request-Id: big-one\r\n"
      "Content-Length: 1048576\r\n\r\n");
  auto rest = c.read_until_closed(5s);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(status_of(*rest), 413);
  EXPECT_EQ(header_of(*rest, "X-Request-Id"), "big-one") << *rest;
}

TEST_F(StoaUp, ChunkedBodyOverLimitGets413) {
  RawConnection c(process_->gateway_port);
  std::string chunk(32 * 1024, 'x');
  std::string request = "POST /v1/ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) request += "8000\r\n" + chunk + "\r\n";
  request += "0\r\n\r\n";
  c.send(request);
  auto rest = c.read_until_closed(5s);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(status_of(*rest), 413);
}

// Request smuggling (RFC 9112 §6.3): a Transfer-Encoding whose final coding is not chunked
// leaves the body's length unknown. Every listener of `stoa up` refuses it and closes, so the
// body is never served as a second request.
TEST_F(StoaUp, EveryListenerRefusesATransferEncodingItCannotFrameBy) {
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::uint16_t port :
       {process_->gateway_port, process_->user_port, process_->s3_port, process_->admin_port}) {
    for (const auto& [te, status] : {std::pair<std::string, int>{"chunked, identity", 400},
                                     {"identity", 400},
                                     {"xchunked", 400},
                                     {"gzip, chunked", 501}}) {
      SCOPED_TRACE("port " + std::to_string(port) + ": " + te);
      RawConnection c(port);
      c.send("POST /v1/users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + "\r\n\r\n" +
             smuggled);
      auto rest = c.read_until_closed(5s);
      ASSERT_TRUE(rest.has_value()) << "the connection stayed open";
      EXPECT_EQ(status_of(*rest), status) << *rest;
      EXPECT_FALSE(header_of(*rest, "X-Request-Id").empty()) << *rest;
      EXPECT_EQ(rest->find("HTTP/1.1", 1), std::string::npos) << "a second response: " << *rest;
    }
  }
}

TEST_F(StoaUp, ExpectContinueGets100ThenTheResponse) {
  RawConnection c(process_->gateway_port);
  c.send("POST /v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.read_response(2s);
  EXPECT_EQ(status_of(interim), 100);
  c.send("hello");
  EXPECT_EQ(status_of(c.read_response()), 405);
}

TEST_F(StoaUp, ClientTricklingHeadersIsDisconnectedAfterTheHeaderTimeout) {
  RawConnection c(process_->gateway_port);
  std::string head = "GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 's');
  bool cut_off = false;
  // One byte every 100 ms would take 25 s; the header timeout here is 1 s.
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (!c.send(head.substr(i, 1))) {
      cut_off = true;
      break;
    }
    if (auto closed = c.read_until_closed(100ms)) {
      cut_off = true;
      break;
    }
  }
  EXPECT_TRUE(cut_off) << "the server let a client take 25 s over its request head";
}

TEST_F(StoaUp, MetricsHaveRequestHistograms) {
  ASSERT_EQ(status_of(http_get(process_->gateway_port, "/v1/ping")), 200);
  // The request is counted once its response is written, which the client may see first.
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = body_of(http_get(process_->admin_port, "/metrics"));
    if (metrics.find("http_route=\"/v1/ping\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(metrics.find("# TYPE http_server_request_duration_seconds histogram"),
            std::string::npos);
  EXPECT_NE(metrics.find("http_server_request_duration_seconds_bucket{"), std::string::npos);
  EXPECT_NE(metrics.find("http_route=\"/v1/ping\""), std::string::npos);
  EXPECT_NE(metrics.find("process_resident_memory_bytes"), std::string::npos);
}

TEST_F(StoaUp, TraceparentRequestShowsUpAtTracesUnderTheSameTraceId) {
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto response = http_get(process_->gateway_port, "/v1/ping",
                           "traceparent: 00-" + trace_id + "-00f067aa0ba902b7-01\r\n");
  ASSERT_EQ(status_of(response), 200);
  std::string trace;
  for (int i = 0; i < 50; ++i) {  // spans are recorded after the response is written
    trace = http_get(process_->admin_port, "/traces/" + trace_id);
    if (status_of(trace) == 200) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(status_of(trace), 200) << trace;
  EXPECT_NE(body_of(trace).find("00f067aa0ba902b7"), std::string::npos)
      << "the server span's parent should be the caller's span";
  EXPECT_NE(body_of(http_get(process_->admin_port, "/traces")).find(trace_id), std::string::npos);
  EXPECT_EQ(status_of(http_get(process_->admin_port, "/traces/" + std::string(32, 'f'))), 404);
}

TEST_F(StoaUp, SigtermLetsASlowRequestFinishThenExitsZero) {
  RawConnection slow(process_->gateway_port);
  RawConnection idle(process_->gateway_port);
  ASSERT_TRUE(idle.send("GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(status_of(idle.read_response()), 200);

  ASSERT_TRUE(slow.send("POST /v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello"));
  std::this_thread::sleep_for(200ms);
  process_->signal(SIGTERM);
  // The idle keep-alive connection is closed; the one mid-request is not.
  EXPECT_TRUE(idle.read_until_closed(5s).has_value());
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(slow.send("world"));
  auto response = slow.read_response();
  EXPECT_EQ(status_of(response), 405) << response;  // answered in full, not cut off
  EXPECT_EQ(header_of(response, "Connection"), "close");
  EXPECT_EQ(process_->wait_exit(10s), std::optional<int>(0));
}

TEST(StoaShutdown, DeadlineClosesRequestsStillInFlightAndExitsZero) {
  StoaProcess stoa({"up"},
                   {{"STOA_PROCESS_SHUTDOWN_TIMEOUT", "200ms"}, {"STOA_HTTP_BODY_TIMEOUT", "30s"}});
  ASSERT_TRUE(stoa.wait_ready()) << stoa.log();
  std::vector<std::unique_ptr<RawConnection>> stuck;
  for (int i = 0; i < 8; ++i) {
    stuck.push_back(std::make_unique<RawConnection>(stoa.gateway_port));
    // A head promising a body that never comes: in flight until the deadline.
    ASSERT_TRUE(
        stuck.back()->send("POST /v1/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"));
  }
  std::this_thread::sleep_for(200ms);
  stoa.signal(SIGTERM);
  EXPECT_EQ(stoa.wait_exit(10s), std::optional<int>(0)) << stoa.log();
  for (auto& connection : stuck) EXPECT_TRUE(connection->read_until_closed(5s).has_value());
}

TEST(StoaCli, UnknownConfigKeyStopsStartUpNamingTheKey) {
  char path[] = "/tmp/stoa-test-config-XXXXXX";
  int fd = ::mkstemp(path);
  std::string text = "[http]\nheader_timout = \"5s\"\n";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  StoaProcess process({"--config", path, "up"});
  EXPECT_EQ(process.wait_exit(10s), std::optional<int>(2));
  EXPECT_NE(process.log().find("http.header_timout"), std::string::npos) << process.log();
  ::unlink(path);
}

TEST(StoaCli, BadEnvironmentValueStopsStartUpNamingTheVariable) {
  StoaProcess process({"up"}, {{"STOA_HTTP_IDLE_TIMEOUT", "soon"}});
  EXPECT_EQ(process.wait_exit(10s), std::optional<int>(2));
  EXPECT_NE(process.log().find("STOA_HTTP_IDLE_TIMEOUT"), std::string::npos) << process.log();
}

TEST(StoaCli, PortInUseStopsStartUpWithAClearMessage) {
  StoaProcess first({"up"});
  ASSERT_TRUE(first.wait_ready());
  StoaProcess second({"up"},
                     {{"STOA_GATEWAY_LISTEN", "127.0.0.1:" + std::to_string(first.gateway_port)}});
  EXPECT_EQ(second.wait_exit(10s), std::optional<int>(1));
  EXPECT_NE(second.log().find("cannot listen"), std::string::npos) << second.log();
}

TEST(StoaCli, ServeUnknownComponentIsAUsageError) {
  StoaProcess process({"serve", "no-such-component"});
  EXPECT_EQ(process.wait_exit(10s), std::optional<int>(2));
  EXPECT_NE(process.log().find("gateway"), std::string::npos) << process.log();
}

}  // namespace
}  // namespace stoa::test
