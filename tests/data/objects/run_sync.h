#pragma once
// Runs a coroutine of the object store to completion on a private io_context (unit tests).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>

#include "runtime/async.h"

namespace stoa::objects::test {

template <class T>
T run_sync(Awaitable<T> awaitable) {
  boost::asio::io_context context;
  std::optional<T> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      context, [&]() -> Awaitable<void> { result.emplace(co_await std::move(awaitable)); },
      [&](std::exception_ptr e) { failure = e; });
  context.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

}  // namespace stoa::objects::test
