#include "data/sql/sqlite/worker.h"

#include <algorithm>

namespace stoa::sql::sqlite {

Worker::Worker(std::unique_ptr<Connection> connection, std::size_t max_queue, std::string name)
    : connection_(std::move(connection)), max_queue_(max_queue), name_(std::move(name)) {
  thread_ = std::thread([this] { loop(); });
}

Worker::~Worker() {
  close();
}

Status Worker::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return Error{Errc::unavailable, "the database is closed"};
    if (queue_.size() >= max_queue_ && !job.bypass_limit) {
      std::erase_if(queue_,
                    [](const Job& queued) { return queued.abandoned && queued.abandoned(); });
    }
    if (queue_.size() >= max_queue_ && !job.bypass_limit) {
      return Error{Errc::unavailable, "the SQLite " + name_ + " has " +
                                          std::to_string(queue_.size()) +
                                          " statements waiting (the limit): overloaded"};
    }
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return Ok{};
}

void Worker::close() {
  {
    std::lock_guard lock(mutex_);
    if (closing_ && !thread_.joinable()) return;
    closing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

// Picks the next job that may run now, waiting when there is none; false when closing.
bool Worker::next(std::unique_lock<std::mutex>& lock, Job& job) {
  for (;;) {
    if (closing_) return false;
    auto it = queue_.begin();
    if (owner_ != 0) {
      // Only the owning transaction's jobs run; a job of a transaction that is gone runs
      // too (it only reports that), so it never waits behind another transaction.
      it = std::find_if(queue_.begin(), queue_.end(), [this](const Job& candidate) {
        return candidate.transaction == owner_ ||
               (candidate.transaction != 0 && !candidate.opens_transaction);
      });
    }
    if (it != queue_.end()) {
      job = std::move(*it);
      queue_.erase(it);
      return true;
    }
    if (owner_ == 0) {
      wake_.wait(lock);
    } else if (wake_.wait_until(lock, owner_deadline_) == std::cv_status::timeout &&
               Clock::now() >= owner_deadline_) {
      // The transaction outlived its timeout: roll it back so that others can run.
      lock.unlock();
      (void)connection_->exec("ROLLBACK", Interrupt{});
      lock.lock();
      owner_ = 0;
    }
  }
}

void Worker::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    Job job;
    if (!next(lock, job)) break;
    Turn turn = Turn::run;
    if (job.transaction != 0 && job.transaction != owner_) {
      if (job.opens_transaction && owner_ == 0) {
        owner_ = job.transaction;
        owner_deadline_ = job.transaction_deadline;
      } else {
        turn = Turn::transaction_gone;
      }
    }
    lock.unlock();
    job.run(*connection_, turn);
    // The claim ends when the connection is back in autocommit mode: after COMMIT or
    // ROLLBACK, a failed BEGIN, or an error that made SQLite roll back by itself.
    const bool still_open = connection_->in_transaction();
    lock.lock();
    if (owner_ != 0 && owner_ == job.transaction && !still_open) owner_ = 0;
  }
  std::deque<Job> left = std::move(queue_);
  queue_.clear();
  lock.unlock();
  for (auto& job : left) job.run(*connection_, Turn::closing);
  if (connection_->in_transaction()) (void)connection_->exec("ROLLBACK", Interrupt{});
  connection_.reset();
}

}  // namespace stoa::sql::sqlite
