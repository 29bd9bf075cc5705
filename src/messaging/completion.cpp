#include "messaging/completion.h"

#include <memory>
#include <mutex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace stoa::messaging {

namespace {

namespace asio = boost::asio;
using Timer = asio::steady_timer;

// The completion cancels a timer the caller waits on: the same wake-up the brokers'
// receive() uses, and safe whichever thread completes.
struct Completion {
  std::mutex mutex;
  bool done = false;
  Status status = Ok{};
  std::shared_ptr<Timer> timer;
};

}  // namespace

Awaitable<Status> await_completion(Submit submit) {
  auto executor = co_await asio::this_coro::executor;
  auto completion = std::make_shared<Completion>();
  completion->timer = std::make_shared<Timer>(executor, Timer::time_point::max());
  Complete complete = [completion](Status status) {
    {
      std::lock_guard lock(completion->mutex);
      completion->done = true;
      completion->status = std::move(status);
    }
    auto timer = completion->timer;
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  };
  submit(std::move(complete));
  for (;;) {
    {
      std::lock_guard lock(completion->mutex);
      if (completion->done) co_return completion->status;
    }
    // The cancel is posted to this executor, so it cannot run before this wait starts.
    auto token = asio::as_tuple(asio::use_awaitable);
    co_await completion->timer->async_wait(token);
  }
}

}  // namespace stoa::messaging
