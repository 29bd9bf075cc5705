// cache.url parsing and open_cache: which backend a URL gives, and clear errors for bad ones.
#include <gtest/gtest.h>

#include "app/process.h"
#include "data/cache/memory_cache.h"
#include "data/cache/open_cache.h"
#include "data/cache/redis_client.h"
#include "observability/telemetry.h"
#include "runtime/config.h"
#include "runtime/event_loop.h"
#include "support/run_sync.h"

namespace stoa::cache {
namespace {

TEST(RedisUrl, Parses) {
  auto o = parse_redis_url("redis://127.0.0.1:6380/2");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->host, "127.0.0.1");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->database, 2);
  EXPECT_EQ(o->password, "");

  o = parse_redis_url("redis://cache.internal");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->host, "cache.internal");
  EXPECT_EQ(o->port, 6379);
  EXPECT_EQ(o->database, 0);

  o = parse_redis_url("redis://:s3cret@h:1/0");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->username, "");
  EXPECT_EQ(o->password, "s3cret");

  o = parse_redis_url("redis://app:pw@[::1]:7000/1");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->username, "app");
  EXPECT_EQ(o->password, "pw");
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 7000);
}

TEST(RedisUrl, RejectsBadUrlsWithoutShowingThePassword) {
  for (const char* bad :
       {"redis://", "redis://:pw@host:0/0", "redis://:pw@host:70000", "redis://:pw@host:port",
        "redis://:pw@host/db", "redis://:pw@host/-1", "rediss://:pw@host", "http://host",
        "redis://:pw@host?x=1", "redis://:pw@[::1", "redis://:pw@ho st:1", "redis://pw@host"}) {
    const auto o = parse_redis_url(bad);
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_EQ(o.error().code, Errc::invalid_argument);
    EXPECT_NE(o.error().message.find("invalid cache URL"), std::string::npos) << bad;
    EXPECT_EQ(o.error().message.find(":pw@"), std::string::npos) << o.error().message;
  }
  EXPECT_EQ(redact_url("redis://user:secret@host:1/0"), "redis://user:***@host:1/0");
  EXPECT_EQ(redact_url("redis://host:1/0"), "redis://host:1/0");
}

TEST(MemoryUrl, Parses) {
  auto m = parse_memory_url("memory://?max_bytes=64MiB&shards=4");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->max_bytes, 64u << 20);
  EXPECT_EQ(m->shards, 4u);
  m = parse_memory_url("memory://");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->max_bytes, 256u << 20);
  for (const char* bad : {"memory://?max_bytes=lots", "memory://?max_bytes=1", "memory://host",
                          "memory://?shards=0", "memory://?colour=blue", "memory://?shards=9999"}) {
    const auto r = parse_memory_url(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
  }
}

TEST(OpenCache, ChoosesTheBackendByUrl) {
  EventLoop loop(1);
  CacheOptions o;
  o.url = "memory://?max_bytes=1MiB";
  auto memory = open_cache(o, loop, nullptr);
  ASSERT_TRUE(memory.ok());
  EXPECT_STREQ(memory.value()->backend(), "memory");
  auto* m = dynamic_cast<MemoryCache*>(memory.value().get());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->max_bytes(), 1u << 20);

  // Opening a Redis cache does not connect: an unreachable Redis is a miss later, not a
  // start-up failure.
  o.url = "redis://127.0.0.1:1/0";
  auto redis = open_cache(o, loop, nullptr);
  ASSERT_TRUE(redis.ok());
  EXPECT_STREQ(redis.value()->backend(), "redis");

  o.url = "memcached://:hunter2@host";
  auto bad = open_cache(o, loop, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_EQ(bad.error().message.find("hunter2"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("memcached"), std::string::npos) << bad.error().message;
}

TEST(OpenCache, OptionsComeFromTheCacheSection) {
  auto config = Config::load("", [](std::string_view name) -> std::optional<std::string> {
    if (name == "STOA_CACHE_URL") return "redis://127.0.0.1:6390/1";
    if (name == "STOA_CACHE_POOL_SIZE") return "3";
    if (name == "STOA_CACHE_COMMAND_TIMEOUT") return "250ms";
    return std::nullopt;
  });
  ASSERT_TRUE(config.ok()) << config.error().message;
  const CacheOptions o = CacheOptions::from_config(config.value());
  EXPECT_EQ(o.url, "redis://127.0.0.1:6390/1");
  EXPECT_EQ(o.pool_size, 3u);
  EXPECT_EQ(o.command_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(o.connect_timeout, std::chrono::milliseconds(1000));
  EXPECT_EQ(o.reconnect_interval, std::chrono::milliseconds(100));
}

TEST(OpenCache, MetricsCountHitsAndMisses) {
  EventLoop loop(1);
  obs::Telemetry telemetry(obs::TracerOptions{}, false);
  CacheOptions o;
  o.url = "memory://?max_bytes=1MiB";
  auto cache = open_cache(o, loop, &telemetry);
  ASSERT_TRUE(cache.ok());
  boost::asio::io_context io;
  ::stoa::test::run_sync(io, [&]() -> Awaitable<bool> {
    Cache& c = *cache.value();
    co_await c.set(std::string("k"), std::string("v"), std::chrono::milliseconds(0));
    co_await c.get(std::string("k"));
    co_await c.get(std::string("k"));
    co_await c.get(std::string("absent"));
    co_return true;
  });
  const std::string text = telemetry.metrics().expose();
  EXPECT_NE(text.find("cache_operations_total{operation=\"get\",result=\"hit\","
                      "stoa_cache_backend=\"memory\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("cache_operations_total{operation=\"get\",result=\"miss\","
                      "stoa_cache_backend=\"memory\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("cache_operation_duration_seconds_count{operation=\"get\","
                      "stoa_cache_backend=\"memory\"} 3"),
            std::string::npos);
}

Config config_with_url(std::string url) {
  auto config = Config::load("", [url](std::string_view name) -> std::optional<std::string> {
    if (name == "STOA_CACHE_URL") return url;
    if (name == "STOA_PROCESS_THREADS") return "1";
    return std::nullopt;
  });
  EXPECT_TRUE(config.ok()) << config.error().message;
  return std::move(config).value();
}

TEST(SharedCache, OneCachePerProcess) {
  app::Process process(config_with_url("memory://?max_bytes=2MiB"));
  std::shared_ptr<Cache> a = shared_cache(process);
  std::shared_ptr<Cache> b = shared_cache(process);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_STREQ(a->backend(), "memory");

  app::Process redis_process(config_with_url("redis://127.0.0.1:1/0"));
  EXPECT_STREQ(shared_cache(redis_process)->backend(), "redis");
}

TEST(SharedCache, BadUrlStopsStartUpNamingTheKey) {
  app::Process process(config_with_url("redis://:hunter2@host:99999/0"));
  try {
    shared_cache(process);
    FAIL() << "a bad cache.url was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cache.url"), std::string::npos) << message;
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace stoa::cache
