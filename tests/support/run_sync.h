#pragma once
// Running a coroutine from a test and waiting for its result: the one way tests do it.
//
//   run_sync(loop, task)         on an EventLoop that other threads run (a fixture's loop)
//   run_sync(context, task)      on an io_context this thread runs until the task is done
//   run_sync(task)               on an io_context of its own
//   spawn_future(context, task)  starts it and returns a std::future, for a test that starts
//                                several at once and waits for them later
//
// A task is an Awaitable<T> or a callable returning one; a callable is kept alive until its
// coroutine is done, so a coroutine lambda's captures stay valid. T need not be
// default-constructible (Result<T> is not, which rules out co_spawn's use_future).
//
// A task that does not finish within the bound aborts the test process with a message naming
// the test and the call: a hang fails the test, never stalls the run. Throwing instead would
// leave the coroutine running on references into the frames the exception unwinds, and the
// fixture's join of its loop thread could then hang anyway. ctest runs each test in a process
// of its own, so only that test fails.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>

#include "runtime/async.h"
#include "runtime/event_loop.h"

namespace stoa::test {

// Long enough for any single call of a test against a loaded machine's servers.
inline constexpr std::chrono::milliseconds kRunSyncBound = std::chrono::seconds(60);

namespace detail {

template <class A>
struct AwaitableOf {};
template <class T>
struct AwaitableOf<Awaitable<T>> {
  using value = T;
};

// An Awaitable<T> itself, or a callable returning one.
template <class X>
struct TaskOf : AwaitableOf<X> {};
template <class X>
requires std::is_invocable_v<X&>
struct TaskOf<X> : AwaitableOf<std::invoke_result_t<X&>> {
};

// Prints what hung (the running test, the call, the bound) and aborts.
[[noreturn]] void report_hang(std::chrono::milliseconds bound, const std::source_location& where);

}  // namespace detail

// An Awaitable<T>, or a callable returning one.
template <class X>
concept Task = requires {
  typename detail::TaskOf<std::decay_t<X>>::value;
};

// The T of a task.
template <Task X>
using TaskValue = typename detail::TaskOf<std::decay_t<X>>::value;

namespace detail {

// The coroutine co_spawn runs: it owns the task (and so a callable's captures) until the task
// is done. A callable travels as a std::function: a lambda's own type has no linkage, and GCC
// refuses it as a member of this header's coroutine frames (-Wsubobject-linkage).
template <class T>
Awaitable<void> deliver(std::function<Awaitable<T>()> make, std::shared_ptr<std::promise<T>> to) {
  // Named first: GCC 12 mishandles temporaries inside a co_await expression (docs/runtime.md).
  auto running = make();
  to->set_value(co_await std::move(running));
}

template <class T>
Awaitable<void> deliver(Awaitable<T> task, std::shared_ptr<std::promise<T>> to) {
  to->set_value(co_await std::move(task));
}

}  // namespace detail

// Starts `task` on `context` and returns the future of its result (or of its exception). With
// a slot, emitting on it cancels the task. Whoever runs `context` runs the task.
template <Task X>
std::future<TaskValue<X>> spawn_future(
    boost::asio::io_context& context, X task,
    std::optional<boost::asio::cancellation_slot> slot = std::nullopt) {
  using T = TaskValue<X>;
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  auto done = [promise](std::exception_ptr error) {
    if (error) promise->set_exception(error);
  };
  auto body = [&] {
    if constexpr (std::is_invocable_v<X&>) {
      return detail::deliver<T>(std::function<Awaitable<T>()>(std::move(task)), promise);
    } else {
      return detail::deliver<T>(std::move(task), promise);
    }
  }();
  if (slot) {
    boost::asio::co_spawn(context, std::move(body),
                          boost::asio::bind_cancellation_slot(*slot, std::move(done)));
  } else {
    boost::asio::co_spawn(context, std::move(body), std::move(done));
  }
  return future;
}

// Runs `task` on context `index` of `loop`, which other threads run, and waits for it.
template <Task X>
TaskValue<X> run_sync(EventLoop& loop, X task, std::chrono::milliseconds bound = kRunSyncBound,
                      std::size_t index = 0,
                      std::source_location where = std::source_location::current()) {
  auto future = spawn_future(loop.context(index), std::move(task));
  if (future.wait_for(bound) != std::future_status::ready) detail::report_hang(bound, where);
  return future.get();
}

// Runs `context` on this thread until `task` is done, then returns its result. Other work on
// the context (a pooled connection's reads, a background refresh) stays there for the next
// run. A work guard keeps the context waiting when it momentarily has nothing to run (the task
// waits for another executor's thread) instead of returning before the task is done.
template <Task X>
TaskValue<X> run_sync(boost::asio::io_context& context, X task,
                      std::chrono::milliseconds bound = kRunSyncBound,
                      std::source_location where = std::source_location::current()) {
  context.restart();
  auto future = spawn_future(context, std::move(task));
  auto guard = boost::asio::make_work_guard(context);
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    context.run_one_until(deadline);
    if (std::chrono::steady_clock::now() >= deadline &&
        future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      detail::report_hang(bound, where);
    }
  }
  return future.get();
}

// Runs `task` on an io_context of its own.
template <Task X>
TaskValue<X> run_sync(X task, std::chrono::milliseconds bound = kRunSyncBound,
                      std::source_location where = std::source_location::current()) {
  boost::asio::io_context context(1);
  return run_sync(context, std::move(task), bound, where);
}

}  // namespace stoa::test
