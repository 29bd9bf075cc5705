#pragma once
// Running cache coroutines to completion from a test.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <utility>

#include "runtime/async.h"

namespace stoa::cache::testing {

// Runs the coroutine that `make()` returns on `context` until it finishes and returns its
// value. Connections it opened stay open for the next run (the context is stopped, not
// drained).
template <class F>
auto run(boost::asio::io_context& context, F make) {
  using T = typename decltype(make())::value_type;
  std::optional<T> out;
  std::exception_ptr error;
  boost::asio::co_spawn(
      context, [&out, make]() -> Awaitable<void> { out.emplace(co_await make()); },
      [&error, &context](std::exception_ptr e) {
        error = e;
        context.stop();
      });
  context.restart();
  context.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

}  // namespace stoa::cache::testing
