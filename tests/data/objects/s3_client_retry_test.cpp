// The S3 client's retries against a real HTTP server on loopback (the runtime's own) that
// fails the first requests the way S3 and the proxies in front of it do: 503 SlowDown, 500
// InternalError, a connection cut mid-response; then serves.
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "data/objects/s3_client_store.h"
#include "runtime/event_loop.h"
#include "runtime/http_server.h"
#include "runtime/router.h"
#include "support/run_sync.h"

namespace stoa::objects {
namespace {

using namespace std::chrono_literals;

enum class Failure { slow_down, internal_error, cut_short, access_denied };

struct Script {
  std::atomic<int> failures_left{0};  // -1: fail every request
  std::atomic<int> requests{0};
  Failure failure = Failure::slow_down;
  std::mutex mutex;
  std::vector<std::string> bodies;  // of every request, as received
};

// Promises 1000 bytes and gives none: the server closes the connection after the head.
class BrokenBody final : public http::BodyStream {
 public:
  std::uint64_t size() const override { return 1000; }
  Awaitable<std::size_t> read(std::span<char>) override { co_return 0; }
};

http::Response s3_error(int status, const std::string& code) {
  http::Response r;
  r.status = status;
  r.headers.add("Content-Type", "application/xml");
  r.body = "<Error><Code>" + code + "</Code><Message>scripted</Message></Error>";
  return r;
}

http::Response answer(Script& script, http::Request& request) {
  ++script.requests;
  {
    std::lock_guard lock(script.mutex);
    script.bodies.push_back(request.body);
  }
  int left = script.failures_left.load();
  if (left != 0) {
    if (left > 0) --script.failures_left;
    switch (script.failure) {
      case Failure::slow_down:
        return s3_error(503, "SlowDown");
      case Failure::internal_error:
        return s3_error(500, "InternalError");
      case Failure::access_denied:
        return s3_error(403, "AccessDenied");
      case Failure::cut_short: {
        http::Response r;
        r.stream = std::make_shared<BrokenBody>();
        return r;
      }
    }
  }
  http::Response ok;
  ok.headers.add("ETag", "\"5d41402abc4b2a76b9719d911017c592\"");
  return ok;
}

class S3ClientRetries : public ::testing::Test {
 protected:
  S3ClientRetries() : loop_(1) {}
  void SetUp() override {
    auto router = std::make_shared<http::Router>();
    auto script = script_;
    router->add("PUT", "/{path...}", [script](http::Request& r) -> Awaitable<http::Response> {
      co_return answer(*script, r);
    });
    server_ = std::make_unique<http::Server>(
        loop_, http::ListenerOptions{.name = "fake-s3", .tls_cert_file = {}, .tls_key_file = {}},
        http::ServerLimits{}, router, nullptr);
    server_->start();
    thread_ = std::thread([this] { loop_.run(); });
    store_ = make_s3_store({.bucket = "b",
                            .endpoint = "http://127.0.0.1:" + std::to_string(server_->port()),
                            .region = "us-east-1",
                            .access_key = "k",
                            .secret_key = "s"},
                           {.part_bytes = 1024 * 1024,
                            .max_attempts = 4,
                            .base_delay = 1ms,
                            .request_timeout = 5000ms});
  }
  void TearDown() override {
    store_.reset();
    server_->close_all();
    loop_.stop();
    thread_.join();
    server_.reset();
  }

  Result<ObjectInfo> put(const std::string& data) {
    StringSource source(data);
    return ::stoa::test::run_sync(context_, store_->put("key", source, {}));
  }
  void fail_first(int n, Failure failure) {
    script_->failure = failure;
    script_->failures_left = n;
  }

  std::shared_ptr<Script> script_ = std::make_shared<Script>();
  EventLoop loop_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  boost::asio::io_context context_;
  std::shared_ptr<ObjectStore> store_;
};

TEST_F(S3ClientRetries, SlowDownIsRetriedUntilTheServerServes) {
  fail_first(2, Failure::slow_down);
  auto info = put("hello");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->etag, "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(script_->requests.load(), 3);
  // Every attempt carried the whole body again.
  for (const auto& body : script_->bodies) EXPECT_EQ(body, "hello");
}

TEST_F(S3ClientRetries, InternalErrorIsRetried) {
  fail_first(3, Failure::internal_error);
  auto info = put("hello");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(script_->requests.load(), 4);
}

TEST_F(S3ClientRetries, AConnectionCutMidResponseIsRetried) {
  fail_first(1, Failure::cut_short);
  auto info = put("hello");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(script_->requests.load(), 2);
}

TEST_F(S3ClientRetries, GivesUpAfterTheRetryBudgetWithAClearError) {
  fail_first(-1, Failure::slow_down);
  auto info = put("hello");
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, Errc::unavailable);
  EXPECT_NE(info.error().message.find("failed after 4 attempts"), std::string::npos)
      << info.error().message;
  EXPECT_NE(info.error().message.find("503"), std::string::npos) << info.error().message;
  EXPECT_EQ(script_->requests.load(), 4);
}

TEST_F(S3ClientRetries, ANonRetryableClientErrorIsNotRetried) {
  fail_first(-1, Failure::access_denied);
  auto info = put("hello");
  ASSERT_FALSE(info);
  EXPECT_NE(info.error().message.find("AccessDenied"), std::string::npos) << info.error().message;
  EXPECT_EQ(script_->requests.load(), 1);
}

}  // namespace
}  // namespace stoa::objects
