#include "runtime/event_loop.h"

#include <csignal>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

namespace stoa {

namespace asio = boost::asio;

namespace {

// An io_context whose shutdown() the loop can call: a handler pending on one context may own
// I/O objects of another (a server's acceptors, one per context), so every context's pending
// handlers must be destroyed before any context's services are.
struct Context : asio::io_context {
  explicit Context(int concurrency_hint) : asio::io_context(concurrency_hint) {}
  using asio::io_context::shutdown;
};

}  // namespace

struct EventLoop::Impl {
  std::vector<std::unique_ptr<Context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::unique_ptr<asio::signal_set> signals;
  std::function<void(int)> on_signal;

  void wait_for_signal() {
    signals->async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (on_signal) on_signal(signal);
      wait_for_signal();  // a second SIGTERM is handled by the same callback
    });
  }
};

EventLoop::EventLoop(std::size_t threads) : impl_(std::make_unique<Impl>()) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < threads; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so Asio can skip locks.
    impl_->contexts.push_back(std::make_unique<Context>(1));
    impl_->guards.push_back(asio::make_work_guard(*impl_->contexts.back()));
  }
}

EventLoop::~EventLoop() {
  stop();
  impl_->signals.reset();
  for (auto& context : impl_->contexts) context->shutdown();
}

std::size_t EventLoop::size() const {
  return impl_->contexts.size();
}

asio::io_context& EventLoop::context(std::size_t index) {
  return *impl_->contexts.at(index);
}

void EventLoop::on_stop_signal(std::function<void(int)> on_signal) {
  impl_->on_signal = std::move(on_signal);
  if (!impl_->signals) {
    impl_->signals = std::make_unique<asio::signal_set>(*impl_->contexts[0], SIGINT, SIGTERM);
    impl_->wait_for_signal();
  }
}

void EventLoop::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl_->contexts.size(); ++i) {
    threads.emplace_back([this, i] { impl_->contexts[i]->run(); });
  }
  impl_->contexts[0]->run();
  for (auto& t : threads) t.join();
}

void EventLoop::stop() {
  if (impl_->signals) {
    boost::system::error_code ignored;
    impl_->signals->cancel(ignored);
  }
  for (auto& guard : impl_->guards) guard.reset();
  for (auto& context : impl_->contexts) context->stop();
}

}  // namespace stoa
