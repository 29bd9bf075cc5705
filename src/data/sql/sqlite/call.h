#pragma once
// Internal to the SQLite driver (Asio-heavy: include only from its .cpp files).
//
// call<T>(worker, spec, work) runs `work` on the worker's thread and resumes the awaiting
// coroutine on its own executor with the result. Asio's per-operation cancellation reaches
// the statement: a job still queued completes at once with Errc::cancelled (and never
// runs); a running one is interrupted by SQLite's progress handler.
#include <atomic>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <utility>

#include "data/sql/sqlite/worker.h"

namespace stoa::sql::sqlite {

template <class T>
using Work = std::function<Result<T>(Connection&, const Interrupt&)>;

struct CallSpec {
  std::uint64_t transaction = 0;
  bool opens_transaction = false;
  bool bypass_limit = false;
  Clock::time_point transaction_deadline = Clock::time_point::max();
  Clock::time_point deadline = Clock::time_point::max();  // of this statement
};

namespace detail {

// Shared by the caller (its cancellation handler) and the worker: exactly one of them moves
// the phase to `done` and delivers the result.
class CallStateBase {
 public:
  virtual ~CallStateBase() = default;
  virtual void cancel() = 0;
};

template <class T, class Handler>
class CallState final : public CallStateBase,
                        public std::enable_shared_from_this<CallState<T, Handler>> {
 public:
  explicit CallState(Handler handler)
      : handler_(std::move(handler)),
        guard_(boost::asio::make_work_guard(boost::asio::get_associated_executor(handler_))) {}

  std::atomic<bool> cancelled{false};

  Handler& handler() { return handler_; }

  // The worker's turn: false when the call was already completed (cancelled while queued).
  bool start() {
    int expected = kQueued;
    return phase_.compare_exchange_strong(expected, kRunning);
  }
  void finish(Result<T> result) {
    phase_ = kDone;
    deliver(std::move(result));
  }
  // Completes a call that never started (refused by the queue, cancelled while waiting).
  void fail_unstarted(Error error) {
    int expected = kQueued;
    if (phase_.compare_exchange_strong(expected, kDone)) deliver(std::move(error));
  }
  bool abandoned() const { return phase_ == kDone; }
  void cancel() override {
    cancelled = true;
    fail_unstarted(Error{Errc::cancelled, "the statement was cancelled before it ran"});
  }

 private:
  static constexpr int kQueued = 0, kRunning = 1, kDone = 2;

  // Always posted, never run inline: the caller may be inside its cancellation emit.
  void deliver(Result<T> result) {
    auto executor = guard_.get_executor();
    boost::asio::post(executor,
                      [self = this->shared_from_this(), result = std::move(result)]() mutable {
                        Handler handler = std::move(self->handler_);
                        self->guard_.reset();
                        std::move(handler)(std::move(result));
                      });
  }

  std::atomic<int> phase_{kQueued};
  Handler handler_;
  boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler>> guard_;
};

template <class T>
struct CallInitiation {
  Worker* worker;
  CallSpec spec;
  Work<T> work;

  template <class Handler>
  void operator()(Handler handler) {
    auto state = std::make_shared<CallState<T, Handler>>(std::move(handler));
    auto slot = boost::asio::get_associated_cancellation_slot(state->handler());
    if (slot.is_connected()) {
      // weak: the slot lives in the coroutine's frame, which the state's handler owns.
      std::weak_ptr<CallStateBase> weak = state;
      slot.assign([weak](boost::asio::cancellation_type type) {
        if (type == boost::asio::cancellation_type::none) return;
        if (auto alive = weak.lock()) alive->cancel();
      });
    }
    Worker::Job job;
    job.transaction = spec.transaction;
    job.opens_transaction = spec.opens_transaction;
    job.transaction_deadline = spec.transaction_deadline;
    job.bypass_limit = spec.bypass_limit;
    job.run = [state, spec = spec, work = std::move(work)](Connection& connection,
                                                           Worker::Turn turn) {
      if (!state->start()) return;
      if (turn == Worker::Turn::closing) {
        state->finish(Error{Errc::unavailable, "the database closed"});
      } else if (turn == Worker::Turn::transaction_gone) {
        state->finish(Clock::now() >= spec.transaction_deadline
                          ? Error{Errc::timeout,
                                  "the transaction passed its timeout and was "
                                  "rolled back"}
                          : Error{Errc::aborted,
                                  "the transaction was rolled back after an "
                                  "error"});
      } else {
        state->finish(work(connection, Interrupt{spec.deadline, &state->cancelled}));
      }
    };
    job.abandoned = [state] { return state->abandoned(); };
    auto submitted = worker->submit(std::move(job));
    if (!submitted) state->fail_unstarted(submitted.error());
  }
};

}  // namespace detail

template <class T>
Awaitable<Result<T>> call(Worker& worker, CallSpec spec, Work<T> work) {
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(Result<T>)>(
      detail::CallInitiation<T>{&worker, spec, std::move(work)}, boost::asio::use_awaitable);
}

}  // namespace stoa::sql::sqlite
