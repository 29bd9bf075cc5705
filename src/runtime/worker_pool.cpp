#include "runtime/worker_pool.h"

#include <atomic>
#include <exception>
#include <thread>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "runtime/component.h"
#include "runtime/config.h"

namespace stoa {

namespace asio = boost::asio;

struct WorkerPool::Impl {
  Impl(std::size_t threads, std::size_t max) : count(threads), pool(threads), max_queued(max) {}
  std::size_t count;
  asio::thread_pool pool;
  std::size_t max_queued;
  std::atomic<std::size_t> queued{0};
};

namespace {
std::size_t resolve(std::size_t threads) {
  if (threads != 0) return threads;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}
}  // namespace

WorkerPool::WorkerPool(std::size_t threads, std::size_t max_queued)
    : impl_(std::make_unique<Impl>(resolve(threads), max_queued)) {}

WorkerPool::~WorkerPool() {
  impl_->pool.join();
}

std::size_t WorkerPool::threads() const {
  return impl_->count;
}

std::size_t WorkerPool::queued() const {
  return impl_->queued.load();
}

Awaitable<Status> WorkerPool::execute(std::function<void()> work) {
  Impl& impl = *impl_;
  if (impl.queued.fetch_add(1) >= impl.max_queued) {
    impl.queued.fetch_sub(1);
    co_return Error{Errc::unavailable, "the worker pool is full (" +
                                           std::to_string(impl.max_queued) + " tasks waiting)"};
  }
  auto failure = std::make_shared<std::string>();
  auto failed = std::make_shared<bool>(false);
  // The completion handler carries the coroutine's executor: posting it resumes the caller on
  // its own event-loop thread, not on the pool's. The initiation is a named variable: GCC 12
  // destroys a lambda temporary inside a co_await expression twice (docs/runtime.md).
  auto initiation = [&impl, work = std::move(work), failure, failed](auto handler) mutable {
    asio::post(impl.pool, [&impl, work = std::move(work), failure, failed,
                           handler = std::move(handler)]() mutable {
      try {
        work();
      } catch (const std::exception& e) {
        *failed = true;
        *failure = e.what();
      } catch (...) {
        *failed = true;
        *failure = "unknown exception";
      }
      impl.queued.fetch_sub(1);
      auto executor = asio::get_associated_executor(handler);
      asio::post(executor, std::move(handler));
    });
  };
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(std::move(initiation),
                                                                       asio::use_awaitable);
  if (*failed) co_return Error{Errc::internal, "background work failed: " + *failure};
  co_return Ok{};
}

std::shared_ptr<WorkerPool> worker_pool(ComponentHost& host) {
  return host.shared<WorkerPool>("worker_pool", [&host]() {
    const auto threads = host.config().integer("process.worker_threads");
    const auto queued = host.config().integer("process.max_queued_work");
    if (threads < 0 || threads > 256) {
      throw std::invalid_argument("process.worker_threads must be between 0 and 256");
    }
    if (queued < 1) throw std::invalid_argument("process.max_queued_work must be at least 1");
    return std::make_shared<WorkerPool>(static_cast<std::size_t>(threads),
                                        static_cast<std::size_t>(queued));
  });
}

}  // namespace stoa
