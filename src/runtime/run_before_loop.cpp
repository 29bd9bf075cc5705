#include "runtime/run_before_loop.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>

#include "runtime/event_loop.h"

namespace stoa {

void run_before_loop(EventLoop& loop, const std::function<Awaitable<void>()>& task) {
  auto& context = loop.context(0);
  bool done = false;
  std::exception_ptr failure;
  boost::asio::co_spawn(context, task(), [&](std::exception_ptr error) {
    failure = error;
    done = true;
  });
  // The context has a work guard, so run() would not return: run one handler at a time.
  while (!done) {
    if (context.stopped()) context.restart();
    context.run_one();
  }
  if (context.stopped()) context.restart();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace stoa
