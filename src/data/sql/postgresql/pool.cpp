#include "data/sql/postgresql/pool.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace stoa::sql::pg {

namespace asio = boost::asio;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// A connection idle for longer than this is checked (a peek at its socket) before reuse.
// One used a moment ago is not: the check is a system call, and on a busy pool it would add
// one to every statement while finding nothing the statement itself would not find.
constexpr std::chrono::milliseconds kPeekAfterIdle{100};

}  // namespace

// A caller waiting for a connection: woken by release() with a connection in `handed`, or
// with `may_open` when a slot freed up, or by its deadline.
struct Pool::Waiter {
  explicit Waiter(asio::io_context& context) : timer(context) {}
  asio::steady_timer timer;
  std::unique_ptr<Connection> handed;
  bool may_open = false;
};

Lease::Lease(std::shared_ptr<Pool> pool, std::unique_ptr<Connection> connection)
    : pool_(std::move(pool)), connection_(std::move(connection)) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    reset();
    pool_ = std::move(other.pool_);
    connection_ = std::move(other.connection_);
  }
  return *this;
}

Lease::~Lease() {
  reset();
}

void Lease::reset() {
  if (pool_ && connection_) pool_->give_back(std::move(connection_));
  connection_.reset();
  pool_.reset();
}

void Lease::discard() {
  if (pool_ && connection_) {
    connection_.reset();
    pool_->give_back(nullptr);  // counts it closed and lets a waiter open another
  }
}

Pool::Pool(asio::io_context& context, PoolSettings settings)
    : context_(context), settings_(std::move(settings)) {}

Pool::~Pool() = default;

std::unique_ptr<Connection> Pool::take_idle() {
  std::vector<std::unique_ptr<Connection>> dropped;  // closed outside the lock
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  while (!idle_.empty()) {
    std::unique_ptr<Connection> candidate = std::move(idle_.back());
    idle_.pop_back();
    if (candidate->reusable(now - candidate->idle_since > kPeekAfterIdle)) return candidate;
    dropped.push_back(std::move(candidate));
    --open_;
  }
  return nullptr;
}

void Pool::connect_failed() {
  down_until_ = Clock::now() + *backoff_.next_delay();  // never nullopt: no limit
}

Lease Pool::try_acquire() {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return Lease();
  }
  if (auto idle = take_idle()) return Lease(shared_from_this(), std::move(idle));
  return Lease();
}

Awaitable<Result<Lease>> Pool::acquire(Clock::time_point deadline) {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) co_return Error{Errc::unavailable, "the database is closed"};
    }
    if (auto idle = take_idle()) co_return Lease(shared_from_this(), std::move(idle));
    if (open_ < settings_.size) {
      const auto now = Clock::now();
      if (now < down_until_) {
        co_return Error{Errc::unavailable,
                        "PostgreSQL " + settings_.label + " is unreachable (retrying shortly)"};
      }
      ++open_;
      auto opened = co_await Connection::open(context_, settings_.connect,
                                              std::min(deadline, now + settings_.connect_timeout));
      if (!opened) {
        --open_;
        if (opened.error().code != Errc::cancelled) connect_failed();
        // A waiter may try in this slot (and fail fast while the backoff lasts).
        if (!waiters_.empty()) {
          Waiter* next = waiters_.front();
          waiters_.pop_front();
          next->may_open = true;
          next->timer.cancel();
        }
        Error error = opened.error();
        error.message = "PostgreSQL " + settings_.label + ": " + error.message;
        co_return error;
      }
      backoff_.reset();
      down_until_ = {};
      co_return Lease(shared_from_this(), std::move(opened).value());
    }
    if (waiters_.size() >= settings_.max_waiters) {
      co_return Error{Errc::unavailable, "PostgreSQL " + settings_.label +
                                             ": too many callers waiting for a connection"};
    }
    Waiter waiter(context_);
    waiter.timer.expires_at(deadline);
    waiters_.push_back(&waiter);
    auto [ec] = co_await waiter.timer.async_wait(kNoThrow);
    (void)ec;
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), &waiter), waiters_.end());
    if (waiter.handed) co_return Lease(shared_from_this(), std::move(waiter.handed));
    if (waiter.may_open) continue;
    if (Clock::now() >= deadline) {
      co_return Error{Errc::unavailable, "PostgreSQL " + settings_.label +
                                             ": no connection became free before the deadline"};
    }
    co_return Error{Errc::cancelled, "waiting for a PostgreSQL connection was cancelled"};
  }
}

void Pool::give_back(std::unique_ptr<Connection> connection) {
  std::unique_ptr<Connection> doomed;  // closed outside the lock
  // Just used: its state is known without a system call (take_idle peeks before reuse).
  const bool fit = connection && connection->reusable(false);
  if (fit && !waiters_.empty()) {
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    next->handed = std::move(connection);
    next->timer.cancel();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (fit && !closed_) {
      connection->idle_since = Clock::now();
      idle_.push_back(std::move(connection));
      return;
    }
    doomed = std::move(connection);
    --open_;
  }
  if (!waiters_.empty()) {
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    next->may_open = true;
    next->timer.cancel();
  }
}

void Pool::close() {
  std::vector<std::unique_ptr<Connection>> doomed;
  std::lock_guard lock(mutex_);
  closed_ = true;
  doomed.swap(idle_);
  open_ -= doomed.size();
}

}  // namespace stoa::sql::pg
