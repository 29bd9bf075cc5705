#pragma once
// Connections to one PostgreSQL server for one io_context: at most `size` of them, opened
// lazily, reused while healthy. Callers beyond `size` wait in a bounded queue until a
// connection is returned or their deadline passes. A server that refused a connection is
// not tried again until a backoff (100 ms doubling to 2 s) has passed: meanwhile calls fail
// at once with Errc::unavailable instead of each waiting for their own connect to fail.
//
// acquire() and Lease run on the pool's io_context thread only; close() may be called from
// any thread.
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "data/sql/postgresql/connection.h"
#include "runtime/retry.h"

namespace stoa::sql::pg {

struct PoolSettings {
  ConnectSettings connect;
  std::size_t size = 4;
  std::chrono::milliseconds connect_timeout{5'000};
  std::size_t max_waiters = 1024;
  std::string label;  // for messages: "primary", "replica 1"
};

class Pool;

// A connection checked out of its pool; returned (or dropped when unfit) on destruction.
class Lease {
 public:
  Lease() = default;
  Lease(std::shared_ptr<Pool> pool, std::unique_ptr<Connection> connection);
  Lease(Lease&&) noexcept = default;
  Lease& operator=(Lease&& other) noexcept;
  ~Lease();

  explicit operator bool() const { return connection_ != nullptr; }
  Connection* operator->() const { return connection_.get(); }
  Connection& operator*() const { return *connection_; }
  // Gives the connection up instead of returning it (its state is unknown).
  void discard();
  // Takes the connection out of the lease; the pool counts it as open until it is handed to
  // Pool::give_back.
  std::unique_ptr<Connection> take() { return std::move(connection_); }
  const std::shared_ptr<Pool>& pool() const { return pool_; }

 private:
  void reset();
  std::shared_ptr<Pool> pool_;
  std::unique_ptr<Connection> connection_;
};

class Pool : public std::enable_shared_from_this<Pool> {
 public:
  Pool(boost::asio::io_context& context, PoolSettings settings);
  ~Pool();

  // Errc::unavailable (server down or in backoff, overloaded, or no connection free by the
  // deadline), timeout (connecting took past the deadline), cancelled.
  Awaitable<Result<Lease>> acquire(Clock::time_point deadline);
  // An idle connection now, or an empty Lease (then acquire()).
  Lease try_acquire();

  // Returns a connection that left its Lease through take(); unfit ones are closed.
  void give_back(std::unique_ptr<Connection> connection);
  void close();
  const std::string& label() const { return settings_.label; }

 private:
  struct Waiter;

  std::unique_ptr<Connection> take_idle();
  void connect_failed();

  boost::asio::io_context& context_;
  const PoolSettings settings_;
  std::mutex mutex_;  // guards idle_ and closed_ (close() comes from any thread)
  std::vector<std::unique_ptr<Connection>> idle_;
  bool closed_ = false;
  std::size_t open_ = 0;  // idle, in use and being opened
  std::deque<Waiter*> waiters_;
  Clock::time_point down_until_{};
  // After a refused connect: 100 ms doubling to 2 s, for as long as it takes.
  Backoff backoff_{RetryPolicy{.initial_delay = std::chrono::milliseconds(100),
                               .max_delay = std::chrono::milliseconds(2'000)}};
};

}  // namespace stoa::sql::pg
