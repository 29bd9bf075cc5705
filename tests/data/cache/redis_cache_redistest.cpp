// The Redis cache against a real redis-server (STOA_TEST_REDIS_URL), including Redis killed
// and restarted in the middle of a test.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "data/cache/loading_cache.h"
#include "data/cache/redis_cache.h"
#include "data/cache/redis_client.h"
#include "support/run_sync.h"
#include "support/test_servers.h"

namespace stoa::cache {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ::stoa::test::run_sync;

RedisOptions options_for(const std::string& url) {
  Result<RedisOptions> o = parse_redis_url(url);
  EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.error().message);
  RedisOptions out = o.ok() ? o.value() : RedisOptions{};
  out.reconnect_interval = 20ms;
  out.command_timeout = 2s;
  return out;
}

// A unique prefix per test, so that tests never see each other's keys.
std::string prefix() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string("stoa-test:") + info->name() + ":" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ":";
}

// Retries `attempt` (returning bool) until it is true or `limit` passes.
template <class F>
bool eventually(asio::io_context& io, F attempt, std::chrono::milliseconds limit = 10s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (run_sync(io, attempt)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(RedisCache, GetSetEraseGetManyAndTtl) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  RedisCache cache(std::make_shared<RedisClient>(options_for(url)));
  const std::string p = prefix();

  EXPECT_EQ(run_sync(io, [&]() { return cache.get(p + "a"); }), std::nullopt);
  run_sync(io, [&]() -> Awaitable<bool> {
    co_await cache.set(p + "a", "1", 0ms);
    co_await cache.set(p + "b", "2", 0ms);
    co_await cache.set(p + "short", "x", 1s);
    co_return true;
  });
  EXPECT_EQ(run_sync(io, [&]() { return cache.get(p + "a"); }), "1");
  const auto many = run_sync(io, [&]() {
    return cache.get_many({p + "a", p + "missing", p + "b"});
  });
  ASSERT_EQ(many.size(), 3u);
  EXPECT_EQ(many[0], "1");
  EXPECT_EQ(many[1], std::nullopt);
  EXPECT_EQ(many[2], "2");
  EXPECT_TRUE(run_sync(io, [&]() { return cache.erase(p + "a"); }));
  EXPECT_FALSE(run_sync(io, [&]() { return cache.erase(p + "a"); }));
  EXPECT_EQ(run_sync(io, [&]() { return cache.get(p + "a"); }), std::nullopt);

  EXPECT_EQ(run_sync(io, [&]() { return cache.get(p + "short"); }), "x");
  std::this_thread::sleep_for(1300ms);
  EXPECT_EQ(run_sync(io, [&]() { return cache.get(p + "short"); }), std::nullopt);
  EXPECT_EQ(cache.stats().errors, 0u);
  EXPECT_EQ(cache.errors(), 0u);
}

TEST(RedisCache, ConcurrentCommandsArePipelined) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  RedisOptions o = options_for(url);
  o.pool_size = 1;
  auto client = std::make_shared<RedisClient>(o);
  RedisCache cache(client);
  const std::string p = prefix();
  constexpr int kCoroutines = 2000;

  std::atomic<int> correct{0};
  run_sync(io, [&]() -> Awaitable<bool> {
    auto executor = co_await asio::this_coro::executor;
    std::atomic<int> done{0};
    asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
    for (int i = 0; i < kCoroutines; ++i) {
      asio::co_spawn(
          executor,
          [&, i]() -> Awaitable<void> {
            const std::string key = p + std::to_string(i);
            co_await cache.set(key, std::to_string(i * 7), 0ms);
            std::optional<std::string> v = co_await cache.get(key);
            if (v == std::to_string(i * 7)) ++correct;
            if (++done == kCoroutines) all_done.cancel();
          },
          asio::detached);
    }
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return true;
  });
  EXPECT_EQ(correct.load(), kCoroutines);
  const RedisClientStats s = client->stats();
  EXPECT_EQ(s.connects, 1u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_GE(s.commands, 2u * kCoroutines);
  // One connection, commands written in batches: far fewer writes than commands.
  EXPECT_LT(s.writes, s.commands / 4) << "writes=" << s.writes << " commands=" << s.commands;
}

TEST(RedisCache, EachEventLoopThreadHasItsOwnConnectionsAndLoadsAreSingleFlight) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  constexpr int kThreads = 3;
  constexpr int kPerThread = 100;
  // Declared first so that the client, and its sockets, go before the contexts.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (int t = 0; t < kThreads; ++t) contexts.push_back(std::make_unique<asio::io_context>());
  RedisOptions o = options_for(url);
  o.pool_size = 2;
  auto client = std::make_shared<RedisClient>(o);
  auto cache = std::make_shared<RedisCache>(client);
  LoadingCache loading(cache);
  const std::string p = prefix();
  std::atomic<int> loads{0};
  std::atomic<int> correct{0};
  const Loader loader = [&loads]() -> Awaitable<Result<std::optional<std::string>>> {
    ++loads;
    asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
    co_await timer.async_wait(asio::use_awaitable);
    co_return std::optional<std::string>("loaded once");
  };
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      asio::co_spawn(
          *contexts[t],
          [&, t, i]() -> Awaitable<void> {
            const std::string key = p + std::to_string(t) + ":" + std::to_string(i);
            co_await cache->set(key, key, 0ms);
            const bool own = (co_await cache->get(key)) == std::optional<std::string>(key);
            auto shared = co_await loading.get_or_load(p + "hot", loader);
            if (own && shared.ok() && shared.value() == "loaded once") ++correct;
          },
          asio::detached);
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    // A work guard keeps each context running until the end, as an event-loop thread runs.
    threads.emplace_back([&contexts, t] {
      auto guard = asio::make_work_guard(*contexts[t]);
      contexts[t]->run();
    });
  }
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (correct.load() < kThreads * kPerThread && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(10ms);
  }
  for (auto& c : contexts) c->stop();
  for (auto& t : threads) t.join();
  EXPECT_EQ(correct.load(), kThreads * kPerThread);
  EXPECT_EQ(loads.load(), 1);
  // Connections are per io_context: each thread opened its own.
  EXPECT_GE(client->stats().connects, static_cast<std::uint64_t>(kThreads));
  EXPECT_LE(client->stats().connects, static_cast<std::uint64_t>(kThreads * 2));
}

TEST(RedisCache, HostileKeysAndValues) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  RedisCache cache(std::make_shared<RedisClient>(options_for(url)));
  const std::string p = prefix();

  std::string binary;
  for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
  binary += "\r\n$5\r\nhello\r\n*1\r\n";
  const std::string crlf_key = p + "key\r\nSET injected 1\r\n";
  const std::string big(8u << 20, 'B');
  const std::string empty;

  run_sync(io, [&]() -> Awaitable<bool> {
    co_await cache.set(crlf_key, binary, 0ms);
    co_await cache.set(p + "big", big, 0ms);
    co_await cache.set(p + "empty", empty, 0ms);
    co_await cache.set(p + std::string(1, '\0') + "nul", "n", 0ms);
    co_return true;
  });
  EXPECT_EQ(run_sync(io, [&]() { return cache.get(crlf_key); }), binary);
  EXPECT_EQ(run_sync(io, [&]() { return cache.get("injected"); }), std::nullopt);
  const auto got_big = run_sync(io, [&]() { return cache.get(p + "big"); });
  ASSERT_TRUE(got_big.has_value());
  EXPECT_EQ(got_big->size(), big.size());
  EXPECT_EQ(*got_big, big);
  EXPECT_EQ(run_sync(io, [&]() { return cache.get(p + "empty"); }), std::optional<std::string>(""));
  EXPECT_EQ(run_sync(io, [&]() { return cache.get(p + std::string(1, '\0') + "nul"); }), "n");
  EXPECT_EQ(cache.errors(), 0u);
}

TEST(RedisCache, CommandTimeoutClosesTheConnectionAndRecovers) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  RedisOptions o = options_for(url);
  o.pool_size = 1;
  o.command_timeout = 200ms;
  auto client = std::make_shared<RedisClient>(o);
  const std::string p = prefix();
  const std::string list = p + "list";
  const std::string seconds = "5";
  const std::string blpop = "BLPOP";

  // BLPOP on an empty list holds the reply for 5 s: longer than the command timeout.
  Result<RedisReply> r = run_sync(io, [&]() { return client->command(blpop, list, seconds); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::timeout) << r.error().message;
  EXPECT_GE(client->stats().errors, 1u);
  EXPECT_GE(client->stats().disconnects, 1u);

  RedisCache cache(client);
  EXPECT_TRUE(eventually(io, [&]() -> Awaitable<bool> {
    co_await cache.set(p + "after", "ok", 0ms);
    co_return (co_await cache.get(p + "after")) == std::optional<std::string>("ok");
  }));
  EXPECT_GE(client->stats().connects, 2u);
}

TEST(RedisCache, RedisKilledMidTestDegradesToMissesAndRecovers) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  RedisOptions o = options_for(url);
  o.command_timeout = 500ms;
  auto client = std::make_shared<RedisClient>(o);
  auto cache = std::make_shared<RedisCache>(client);
  LoadingCache loading(cache);
  const std::string p = prefix();
  std::atomic<int> loads{0};
  auto loader = [&loads]() -> Awaitable<Result<std::optional<std::string>>> {
    ++loads;
    co_return std::optional<std::string>("from-db");
  };

  run_sync(io, [&]() -> Awaitable<bool> {
    co_await cache->set(p + "k", "before", 0ms);
    co_return true;
  });
  ASSERT_EQ(run_sync(io, [&]() { return cache->get(p + "k"); }), "before");

  ASSERT_TRUE(test::control_server("redis", "kill"));
  // Requests keep working: gets are misses, sets do nothing, both counted as errors.
  const std::uint64_t errors_before = cache->errors();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(run_sync(io, [&]() { return cache->get(p + "k"); }), std::nullopt);
    run_sync(io, [&]() -> Awaitable<bool> {
      co_await cache->set(p + "k2", "x", 0ms);
      co_return true;
    });
  }
  EXPECT_GE(cache->errors(), errors_before + 40);
  const Result<std::optional<std::string>> tried =
      run_sync(io, [&]() { return cache->try_get(p + "k"); });
  ASSERT_FALSE(tried.ok());
  EXPECT_TRUE(tried.error().code == Errc::unavailable || tried.error().code == Errc::timeout)
      << tried.error().message;
  // get_or_load falls through to the loader (the database) and answers.
  const auto loaded = run_sync(io, [&]() { return loading.get_or_load(p + "user", loader); });
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded.value(), "from-db");
  EXPECT_EQ(loads.load(), 1);
  // The building blocks report the outage so that their callers can decide.
  const auto limited = run_sync(io, [&]() {
    return cache->atomics().rate_limit(p + "rl", RateLimit{.rate = 10, .burst = 10});
  });
  ASSERT_FALSE(limited.ok());
  EXPECT_TRUE(limited.error().code == Errc::unavailable || limited.error().code == Errc::timeout);

  ASSERT_TRUE(test::control_server("redis", "start"));
  // Recovery without a restart of the client: the next commands reconnect.
  EXPECT_TRUE(eventually(io, [&]() -> Awaitable<bool> {
    co_await cache->set(p + "k", "after", 0ms);
    co_return (co_await cache->get(p + "k")) == std::optional<std::string>("after");
  }));
  EXPECT_GE(client->stats().connects, 2u);
  const auto again = run_sync(io, [&]() { return loading.get_or_load(p + "user2", loader); });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(run_sync(io, [&]() { return loading.get_or_load(p + "user2", loader); }).value(),
            "from-db");
  EXPECT_EQ(loads.load(), 2);  // user2 loaded once, then served from Redis
}

TEST(RedisCache, UnreachableRedisIsAMissNotAHang) {
  asio::io_context io;
  // A port that nothing listens on: bind one, then close it.
  std::uint16_t port = 0;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  RedisOptions o;
  o.port = port;
  o.reconnect_interval = 10ms;
  RedisCache cache(std::make_shared<RedisClient>(o));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(run_sync(io, [&]() { return cache.get("k"); }), std::nullopt);
  }
  EXPECT_EQ(cache.errors(), 5u);
  const auto tried = run_sync(io, [&]() { return cache.try_get("k"); });
  ASSERT_FALSE(tried.ok());
  EXPECT_EQ(tried.error().code, Errc::unavailable);
  EXPECT_NE(tried.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << tried.error().message;
}

// A loopback server that answers every connection with `reply`, then stays silent.
class FakeServer {
 public:
  explicit FakeServer(std::string reply)
      : reply_(std::move(reply)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io_, serve(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeServer() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  Awaitable<void> serve() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      auto s = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
      sockets_.push_back(s);
      char buf[1024];
      auto [rec, n] =
          co_await s->async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (rec) continue;
      co_await asio::async_write(*s, asio::buffer(reply_), asio::as_tuple(asio::use_awaitable));
    }
  }

  std::string reply_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  const std::uint16_t port_ = acceptor_.local_endpoint().port();
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> sockets_;
  std::thread thread_;
};

TEST(RedisCache, GarbageSpeakingServerIsAClearError) {
  const std::vector<std::string> garbage{
      "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
      std::string("\x00\xff\xfe garbage", 11),
      "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
      ":notanumber\r\n",
      "*2147483647\r\n:1\r\n:2\r\n",  // two billion elements announced
  };
  for (const std::string& reply : garbage) {
    FakeServer server(reply);
    asio::io_context io;
    RedisOptions o;
    o.port = server.port();
    o.command_timeout = 1s;
    RedisCache cache(std::make_shared<RedisClient>(o));
    const auto tried = run_sync(io, [&]() { return cache.try_get("k"); });
    ASSERT_FALSE(tried.ok()) << quote_for_message(reply);
    EXPECT_EQ(tried.error().code, Errc::protocol)
        << quote_for_message(reply) << ": " << tried.error().message;
    EXPECT_EQ(run_sync(io, [&]() { return cache.get("k"); }), std::nullopt);
  }
}

TEST(RedisCache, HugeAnnouncedBulkStringIsAnErrorNotAnAllocation) {
  FakeServer server("$99999999999\r\nabc");
  asio::io_context io;
  RedisOptions o;
  o.port = server.port();
  o.command_timeout = 300ms;
  RedisCache cache(std::make_shared<RedisClient>(o));
  const auto tried = run_sync(io, [&]() { return cache.try_get("k"); });
  ASSERT_FALSE(tried.ok());
  // hiredis either refuses the length or waits for bytes that never come.
  EXPECT_TRUE(tried.error().code == Errc::protocol || tried.error().code == Errc::timeout)
      << tried.error().message;
}

TEST(RedisCache, SilentServerTimesOut) {
  FakeServer server("");  // accepts, reads, answers nothing
  asio::io_context io;
  RedisOptions o;
  o.port = server.port();
  o.command_timeout = 200ms;
  RedisCache cache(std::make_shared<RedisClient>(o));
  const auto tried = run_sync(io, [&]() { return cache.try_get("k"); });
  ASSERT_FALSE(tried.ok());
  EXPECT_EQ(tried.error().code, Errc::timeout) << tried.error().message;
}

TEST(RedisCache, WrongPasswordIsRefused) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  RedisOptions o = options_for(url);
  o.password = "not-the-password";
  RedisCache cache(std::make_shared<RedisClient>(o));
  const auto tried = run_sync(io, [&]() { return cache.try_get("k"); });
  ASSERT_FALSE(tried.ok());
  EXPECT_EQ(tried.error().code, Errc::unavailable);
  EXPECT_EQ(tried.error().message.find("not-the-password"), std::string::npos);
}

TEST(RedisCache, SelectsTheDatabaseOfTheUrl) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_REDIS_URL");
  asio::io_context io;
  RedisOptions db0 = options_for(url);
  RedisOptions db3 = db0;
  db3.database = 3;
  RedisCache cache0(std::make_shared<RedisClient>(db0));
  RedisCache cache3(std::make_shared<RedisClient>(db3));
  const std::string key = prefix() + "db";
  run_sync(io, [&]() -> Awaitable<bool> {
    co_await cache3.set(key, "three", 0ms);
    co_return true;
  });
  EXPECT_EQ(run_sync(io, [&]() { return cache3.get(key); }), "three");
  EXPECT_EQ(run_sync(io, [&]() { return cache0.get(key); }), std::nullopt);
}

}  // namespace
}  // namespace stoa::cache
