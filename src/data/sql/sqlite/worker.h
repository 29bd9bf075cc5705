#pragma once
// A thread that owns one SQLite connection and runs jobs on it in order, so that SQLite's
// blocking calls never run on an event-loop thread. The queue is bounded: a full queue
// refuses work (Errc::unavailable) instead of growing.
//
// Transactions: a job that opens a transaction claims the connection; until the connection
// is back in autocommit mode, only that transaction's jobs run and the others wait. A claim
// that outlives its deadline is rolled back, so a forgotten transaction cannot block the
// connection for ever.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "data/sql/sqlite/connection.h"

namespace stoa::sql::sqlite {

class Worker {
 public:
  enum class Turn {
    run,               // run on the connection
    transaction_gone,  // the job's transaction is no longer open (rolled back): do not run
    closing,           // the database is closing: do not run
  };

  struct Job {
    std::uint64_t transaction = 0;  // 0: a job of its own
    // With a non-zero transaction: this job opens it, and the claim ends at this deadline.
    bool opens_transaction = false;
    Clock::time_point transaction_deadline = Clock::time_point::max();
    // A rollback from a Transaction's destructor: never refused by a full queue (there is
    // at most one per transaction, so the queue stays bounded).
    bool bypass_limit = false;
    std::function<void(Connection&, Turn)> run;
    // True once the job's caller no longer waits for it (cancelled while queued): a full
    // queue drops such jobs before it refuses new ones. May be empty.
    std::function<bool()> abandoned;
  };

  Worker(std::unique_ptr<Connection> connection, std::size_t max_queue, std::string name);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Errc::unavailable when the queue is full or the worker is closed.
  Status submit(Job job);
  // Jobs still queued get Turn::closing, an open transaction is rolled back, the thread
  // joined and the connection closed. Idempotent.
  void close();

 private:
  void loop();
  bool next(std::unique_lock<std::mutex>& lock, Job& job);

  std::unique_ptr<Connection> connection_;
  const std::size_t max_queue_;
  const std::string name_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool closing_ = false;
  std::uint64_t owner_ = 0;  // the transaction holding the connection, 0 = none
  Clock::time_point owner_deadline_ = Clock::time_point::max();
  std::thread thread_;
};

}  // namespace stoa::sql::sqlite
