// get_or_load over the in-process cache: single flight across threads, stale-while-revalidate,
// negative caching, failed loads, typed helpers.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/cache/loading_cache.h"
#include "data/cache/memory_cache.h"
#include "data/cache/typed.h"
#include "observability/telemetry.h"
#include "runtime/trace_context.h"
#include "support/run_sync.h"

namespace stoa::cache {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ::stoa::test::run_sync;
using LoadResult = Result<std::optional<std::string>>;

// A loader that counts its calls and takes `delay` (a timer on the caller's loop) to answer.
Loader slow_loader(std::atomic<int>& calls, std::chrono::milliseconds delay, LoadResult answer) {
  return [&calls, delay, answer]() -> Awaitable<LoadResult> {
    ++calls;
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::use_awaitable);
    co_return answer;
  };
}

// Runs `per_thread` concurrent get_or_load calls on each of `threads` io_contexts, each on its
// own thread, and returns every result.
std::vector<LoadResult> concurrent_loads(LoadingCache& cache, const Loader& loader, int threads,
                                         int per_thread, LoadOptions options = {}) {
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::mutex mutex;
  std::vector<LoadResult> results;
  for (int t = 0; t < threads; ++t) {
    contexts.push_back(std::make_unique<asio::io_context>());
    for (int i = 0; i < per_thread; ++i) {
      asio::co_spawn(
          *contexts.back(),
          [&]() -> Awaitable<void> {
            LoadResult r = co_await cache.get_or_load("hot", loader, options);
            std::lock_guard lock(mutex);
            results.push_back(std::move(r));
          },
          asio::detached);
    }
  }
  std::vector<std::thread> runners;
  for (auto& c : contexts) runners.emplace_back([&c] { c->run(); });
  for (auto& r : runners) r.join();
  return results;
}

TEST(LoadingCache, ConcurrentMissesOnSeveralThreadsCauseOneLoad) {
  auto memory = std::make_shared<MemoryCache>();
  LoadingCache cache(memory);
  std::atomic<int> calls{0};
  const Loader loader = slow_loader(calls, 100ms, std::optional<std::string>("value"));

  const auto results = concurrent_loads(cache, loader, 4, 50);
  ASSERT_EQ(results.size(), 200u);
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), "value");
  }
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(cache.stats().loads, 1u);
  EXPECT_GT(cache.stats().coalesced, 0u);
}

TEST(LoadingCache, AFailedLoadReachesEveryWaiterAndIsNotCached) {
  auto memory = std::make_shared<MemoryCache>();
  LoadingCache cache(memory);
  std::atomic<int> calls{0};
  const Loader failing = slow_loader(calls, 100ms, Error{Errc::unavailable, "database down"});

  const auto results = concurrent_loads(cache, failing, 2, 20);
  ASSERT_EQ(results.size(), 40u);
  for (const auto& r : results) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::unavailable);
    EXPECT_EQ(r.error().message, "database down");
  }
  EXPECT_EQ(calls.load(), 1);
  // Not cached: the next call loads again.
  asio::io_context io;
  std::atomic<int> good_calls{0};
  const auto r = run_sync(io, [&]() {
    return cache.get_or_load("hot", slow_loader(good_calls, 1ms, std::optional<std::string>("v")));
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "v");
  EXPECT_EQ(good_calls.load(), 1);
}

TEST(LoadingCache, ALoaderThatThrowsIsAnError) {
  LoadingCache cache(std::make_shared<MemoryCache>());
  asio::io_context io;
  const auto r = run_sync(io, [&]() {
    return cache.get_or_load("k", []() -> Awaitable<LoadResult> {
      throw std::runtime_error("boom");
      co_return std::optional<std::string>();
    });
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::internal);
}

// A write commits and invalidates while a load that read the old value is in flight: neither
// the callers nor the cache get the old value (the owner of a profile never reads it back
// older than their own update).
TEST(LoadingCache, AnInvalidationDuringALoadLoadsAgain) {
  auto memory = std::make_shared<MemoryCache>();
  LoadingCache cache(memory);
  std::atomic<int> version{1};
  std::atomic<int> calls{0};
  // Reads the "database" first, then takes 50 ms to answer: the write lands in between.
  const Loader loader = [&]() -> Awaitable<LoadResult> {
    ++calls;
    const int read = version.load();
    asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
    co_await timer.async_wait(asio::use_awaitable);
    co_return std::optional<std::string>("v" + std::to_string(read));
  };
  asio::io_context io;
  std::vector<LoadResult> results;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        io,
        [&]() -> Awaitable<void> { results.push_back(co_await cache.get_or_load("p", loader)); },
        asio::detached);
  }
  asio::co_spawn(
      io,
      [&]() -> Awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, 10ms);
        co_await timer.async_wait(asio::use_awaitable);
        version = 2;  // the write commits
        co_await cache.invalidate("p");
      },
      asio::detached);
  io.run();
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), "v2");
  }
  EXPECT_EQ(calls.load(), 2);
  const auto again = run_sync(io, [&]() { return cache.get_or_load("p", loader); });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value(), "v2");
  EXPECT_EQ(calls.load(), 2);  // stored: a hit
}

TEST(LoadingCache, HitsDoNotLoad) {
  LoadingCache cache(std::make_shared<MemoryCache>());
  asio::io_context io;
  std::atomic<int> calls{0};
  const Loader loader = slow_loader(calls, 1ms, std::optional<std::string>("v"));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(run_sync(io, [&]() { return cache.get_or_load("k", loader); }).value(), "v");
  }
  EXPECT_EQ(calls.load(), 1);
  run_sync(io, [&]() -> Awaitable<bool> {
    co_await cache.invalidate("k");
    co_return true;
  });
  EXPECT_EQ(run_sync(io, [&]() { return cache.get_or_load("k", loader); }).value(), "v");
  EXPECT_EQ(calls.load(), 2);
}

TEST(LoadingCache, StaleWhileRevalidate) {
  LoadingCache cache(std::make_shared<MemoryCache>());
  asio::io_context io;
  auto version = std::make_shared<std::atomic<int>>(1);
  auto calls = std::make_shared<std::atomic<int>>(0);
  const Loader loader = [version, calls]() -> Awaitable<LoadResult> {
    ++*calls;
    co_return std::optional<std::string>("v" + std::to_string(version->load()));
  };
  const LoadOptions swr{.ttl = 50ms, .stale_ttl = 1h};

  EXPECT_EQ(run_sync(io, [&]() { return cache.get_or_load("k", loader, swr); }).value(), "v1");
  version->store(2);
  std::this_thread::sleep_for(120ms);  // past ttl, within stale_ttl
  // The stale value comes back at once; a background load refreshes it.
  EXPECT_EQ(run_sync(io, [&]() { return cache.get_or_load("k", loader, swr); }).value(), "v1");
  EXPECT_EQ(cache.stats().stale_served, 1u);
  bool refreshed = false;
  for (int i = 0; i < 200 && !refreshed; ++i) {
    io.restart();
    io.poll();
    refreshed = calls->load() == 2 &&
                run_sync(io, [&]() { return cache.get_or_load("k", loader, swr); }).value() == "v2";
    if (!refreshed) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(refreshed);
  EXPECT_EQ(calls->load(), 2);

  // Without stale_ttl an expired value is loaded again before answering.
  version->store(3);
  const LoadOptions plain{.ttl = 50ms};
  EXPECT_EQ(run_sync(io, [&]() { return cache.get_or_load("p", loader, plain); }).value(), "v3");
  version->store(4);
  std::this_thread::sleep_for(120ms);
  EXPECT_EQ(run_sync(io, [&]() { return cache.get_or_load("p", loader, plain); }).value(), "v4");
}

TEST(LoadingCache, NegativeCaching) {
  LoadingCache cache(std::make_shared<MemoryCache>());
  asio::io_context io;
  std::atomic<int> calls{0};
  const Loader absent = slow_loader(calls, 1ms, std::optional<std::string>());

  const LoadOptions negative{.ttl = 1h, .negative_ttl = 1h};
  for (int i = 0; i < 3; ++i) {
    const auto r = run_sync(io, [&]() { return cache.get_or_load("nobody", absent, negative); });
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), std::nullopt);
  }
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(cache.stats().negative_hits, 2u);

  // Without negative_ttl, "not found" is asked again every time.
  const LoadOptions none{.ttl = 1h};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(run_sync(io, [&]() { return cache.get_or_load("ghost", absent, none); }).value(),
              std::nullopt);
  }
  EXPECT_EQ(calls.load(), 4);

  // A negative entry ends with its TTL.
  const LoadOptions brief{.ttl = 1h, .negative_ttl = 50ms};
  run_sync(io, [&]() { return cache.get_or_load("brief", absent, brief); });
  std::this_thread::sleep_for(120ms);
  run_sync(io, [&]() { return cache.get_or_load("brief", absent, brief); });
  EXPECT_EQ(calls.load(), 6);
}

TEST(LoadingCache, ForeignBytesUnderTheKeyAreAMiss) {
  auto memory = std::make_shared<MemoryCache>();
  LoadingCache cache(memory);
  memory->set_now("k", "written by someone else");
  asio::io_context io;
  std::atomic<int> calls{0};
  const auto r = run_sync(io, [&]() {
    return cache.get_or_load("k", slow_loader(calls, 1ms, std::optional<std::string>("mine")));
  });
  EXPECT_EQ(r.value(), "mine");
  EXPECT_EQ(calls.load(), 1);
}

TEST(LoadingCache, RecordsASpanUnderTheCallersTrace) {
  obs::Telemetry telemetry(obs::TracerOptions{}, false);
  LoadingCache cache(std::make_shared<MemoryCache>(), &telemetry);
  asio::io_context io;
  const TraceContext parent = TraceContext::child_of(TraceContext{});
  std::atomic<int> calls{0};
  const Loader loader = slow_loader(calls, 1ms, std::optional<std::string>("v"));
  run_sync(io, [&]() { return cache.get_or_load("k", loader, {.trace = &parent}); });
  run_sync(io, [&]() { return cache.get_or_load("k", loader, {.trace = &parent}); });
  const auto spans = telemetry.tracer().trace_spans(parent.trace_id);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].name, "cache get_or_load");
  EXPECT_EQ(spans[0].parent_span_id, parent.span_id);
  const auto* result0 = spans[0].attribute("stoa.cache.result");
  const auto* result1 = spans[1].attribute("stoa.cache.result");
  ASSERT_NE(result0, nullptr);
  ASSERT_NE(result1, nullptr);
  EXPECT_EQ(std::get<std::string>(*result0), "loaded");
  EXPECT_EQ(std::get<std::string>(*result1), "hit");
  const std::string metrics = telemetry.metrics().expose();
  EXPECT_NE(metrics.find("cache_loads_total{result=\"ok\",stoa_cache_backend=\"memory\"} 1"),
            std::string::npos)
      << metrics;
}

TEST(TypedValues, JsonAndIntegers) {
  MemoryCache cache;
  asio::io_context io;
  const boost::json::value doc = {{"id", 7}, {"name", "Ada"}};
  run_sync(io, [&]() -> Awaitable<bool> {
    co_await set_json(cache, "doc", doc, 0ms);
    co_await set_int(cache, "n", -42, 0ms);
    co_return true;
  });
  EXPECT_EQ(run_sync(io, [&]() { return get_json(cache, "doc"); }), doc);
  EXPECT_EQ(run_sync(io, [&]() { return get_int(cache, "n"); }), -42);
  EXPECT_EQ(run_sync(io, [&]() { return get_int(cache, "doc"); }), std::nullopt);
  EXPECT_EQ(run_sync(io, [&]() { return get_json(cache, "absent"); }), std::nullopt);
  cache.set_now("broken", "{\"unterminated");
  EXPECT_EQ(run_sync(io, [&]() { return get_json(cache, "broken"); }), std::nullopt);
  EXPECT_EQ(decode_int("12x"), std::nullopt);
  EXPECT_EQ(decode_int(""), std::nullopt);
}

}  // namespace
}  // namespace stoa::cache
