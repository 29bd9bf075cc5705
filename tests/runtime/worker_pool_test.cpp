#include "runtime/worker_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "runtime/event_loop.h"
#include "support/run_sync.h"

namespace stoa {
namespace {

using namespace std::chrono_literals;

class WorkerPoolTest : public ::testing::Test {
 protected:
  WorkerPoolTest() : thread_([this] { loop_.run(); }) {}
  ~WorkerPoolTest() override {
    loop_.stop();
    thread_.join();
  }

  template <class T>
  T on_loop(std::function<Awaitable<T>()> make) {
    return ::stoa::test::run_sync(loop_, std::move(make), 10s);
  }

  EventLoop loop_{1};
  std::thread thread_;
};

TEST_F(WorkerPoolTest, RunsOffTheLoopAndResumesOnIt) {
  WorkerPool pool(2, 16);
  auto ids = on_loop<std::pair<bool, bool>>([&]() -> Awaitable<std::pair<bool, bool>> {
    const auto loop_thread = std::this_thread::get_id();
    std::thread::id worker;
    std::function<void()> work = [&worker] { worker = std::this_thread::get_id(); };
    auto status = co_await pool.execute(std::move(work));
    co_return std::make_pair(status.ok() && worker != loop_thread,
                             std::this_thread::get_id() == loop_thread);
  });
  EXPECT_TRUE(ids.first) << "the work ran on the loop's thread";
  EXPECT_TRUE(ids.second) << "the coroutine did not resume on its loop";
}

TEST_F(WorkerPoolTest, ReturnsResultsAndTurnsExceptionsIntoErrors) {
  WorkerPool pool(1, 16);
  auto value = on_loop<int>([&]() -> Awaitable<int> {
    std::function<Result<int>()> work = []() -> Result<int> { return 42; };
    auto result = co_await pool.run<int>(std::move(work));
    co_return result.ok() ? *result : -1;
  });
  EXPECT_EQ(value, 42);
  auto code = on_loop<Errc>([&]() -> Awaitable<Errc> {
    std::function<void()> work = [] { throw std::runtime_error("boom"); };
    auto status = co_await pool.execute(std::move(work));
    co_return status.ok() ? Errc::io : status.error().code;
  });
  EXPECT_EQ(code, Errc::internal);
}

TEST_F(WorkerPoolTest, RefusesWorkBeyondTheQueueBound) {
  WorkerPool pool(1, 2);
  std::promise<void> release;
  auto gate = release.get_future().share();
  // Two tasks hold the pool's one thread and its one queue slot; the third is refused.
  std::vector<std::future<bool>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(::stoa::test::spawn_future(loop_.context(0), [&pool, gate]() -> Awaitable<bool> {
      // Named, not a temporary in the co_await: GCC 12 would destroy it twice.
      std::function<void()> work = [gate] { gate.wait(); };
      auto status = co_await pool.execute(std::move(work));
      co_return status.ok();
    }));
  }
  while (pool.queued() < 2) std::this_thread::sleep_for(1ms);
  auto refused = on_loop<std::optional<Errc>>([&]() -> Awaitable<std::optional<Errc>> {
    std::function<void()> work = [] {};
    auto status = co_await pool.execute(std::move(work));
    co_return status.ok() ? std::nullopt : std::optional<Errc>(status.error().code);
  });
  EXPECT_EQ(refused, Errc::unavailable);
  release.set_value();
  for (auto& future : held) EXPECT_TRUE(future.get());
  EXPECT_EQ(pool.queued(), 0u);
}

}  // namespace
}  // namespace stoa
