// The one way tests run coroutines: each form returns the task's value or rethrows its
// exception, and a task that never finishes ends the process with a message, not a hang.
#include "support/run_sync.h"

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime/error.h"

namespace stoa::test {
namespace {

using namespace std::chrono_literals;

Awaitable<Result<std::string>> answer(std::string text) {
  co_return text;
}

Awaitable<int> fails() {
  throw std::runtime_error("boom");
  co_return 0;
}

Awaitable<int> never() {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 24h);
  co_await timer.async_wait(boost::asio::use_awaitable);
  co_return 1;
}

class LoopThread {
 public:
  LoopThread() : thread_([this] { loop_.run(); }) {}
  ~LoopThread() {
    loop_.stop();
    thread_.join();
  }
  EventLoop loop_{2};

 private:
  std::thread thread_;
};

TEST(RunSync, ReturnsTheResultOnEveryForm) {
  EXPECT_EQ(run_sync(answer("fresh")).value(), "fresh");
  boost::asio::io_context context;
  EXPECT_EQ(run_sync(context, answer("context")).value(), "context");
  LoopThread thread;
  const std::string captured = "captured";
  EXPECT_EQ(run_sync(thread.loop_, [&captured] { return answer(captured); }).value(), captured);
  EXPECT_EQ(run_sync(thread.loop_, answer("second context"), kRunSyncBound, 1).value(),
            "second context");
  auto started = spawn_future(thread.loop_.context(0), answer("later"));
  EXPECT_EQ(started.get().value(), "later");
}

TEST(RunSync, RethrowsTheTasksException) {
  EXPECT_THROW(run_sync(fails()), std::runtime_error);
  LoopThread thread;
  EXPECT_THROW(run_sync(thread.loop_, fails()), std::runtime_error);
}

TEST(RunSyncDeathTest, ATaskThatNeverFinishesAbortsWithTheCallSite) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(run_sync(never(), 100ms), "run_sync_test.cpp:[0-9]+ did not finish within 100 ms");
  EXPECT_DEATH(
      {
        LoopThread thread;
        run_sync(thread.loop_, never(), 100ms);
      },
      "did not finish within 100 ms");
}

}  // namespace
}  // namespace stoa::test
