#pragma once
// Runs a coroutine of the object store to completion on a private io_context (unit tests).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>

#include "runtime/async.h"

namespace stoa::objects::test {

// On `context`, which callers keep when what they run caches per-context state (the S3
// client keeps one HTTP client per io_context).
template <class T>
T run_sync(boost::asio::io_context& context, Awaitable<T> awaitable) {
  context.restart();
  std::optional<T> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      context, [&]() -> Awaitable<void> { result.emplace(co_await std::move(awaitable)); },
      [&](std::exception_ptr e) {
        if (e) failure = e;
      });
  // Until the coroutine is done, not until the context runs out of work: an HTTP client's
  // pooled connections keep waiting on it, and a coroutine waiting for another executor (the
  // store's blocking pool) leaves it without work for a while. The guard keeps run_one()
  // waiting instead of stopping the context.
  auto guard = boost::asio::make_work_guard(context);
  while (!result && !failure) context.run_one();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

template <class T>
T run_sync(Awaitable<T> awaitable) {
  boost::asio::io_context context;
  return run_sync(context, std::move(awaitable));
}

}  // namespace stoa::objects::test
