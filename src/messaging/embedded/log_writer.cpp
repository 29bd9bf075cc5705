#include "messaging/embedded/log_writer.h"

#include <vector>

namespace stoa::messaging::embedded {

LogWriter::LogWriter(std::unique_ptr<SegmentLog> log)
    : log_(std::move(log)), thread_([this] { run(); }) {}

LogWriter::~LogWriter() {
  stop();
}

void LogWriter::submit(std::string framed, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(Item{std::move(framed), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  if (done) done(Error{Errc::cancelled, "the embedded broker is closed"});
}

void LogWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopping_ = true;
    stopped_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  log_.reset();  // closes the files and releases the directory's lock
}

Status LogWriter::health() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

void LogWriter::run() {
  std::vector<Item> batch;
  std::string buffer;
  for (;;) {
    Status failure = Ok{};
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
      failure = failure_;
    }
    buffer.clear();
    for (const auto& item : batch) buffer += item.framed;
    Status status = failure;
    if (status) status = log_->append(buffer);
    if (!status && failure) {
      std::lock_guard lock(mutex_);
      failure_ = status;
    }
    for (auto& item : batch) {
      if (item.done) item.done(status);
    }
    batch.clear();
  }
}

}  // namespace stoa::messaging::embedded
