#pragma once
// One io_context per core, each run by its own thread. Listeners open one acceptor per
// context (SO_REUSEPORT), so a connection lives its whole life on one thread.
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace stoa {

class EventLoop {
 public:
  // threads == 0: one per core.
  explicit EventLoop(std::size_t threads = 0);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  std::size_t size() const;
  boost::asio::io_context& context(std::size_t index);

  // Calls `on_signal` (on context 0) for SIGINT and SIGTERM.
  void on_stop_signal(std::function<void(int)> on_signal);
  // Runs every context on its own thread (context 0 on the caller's) until stop().
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stoa
