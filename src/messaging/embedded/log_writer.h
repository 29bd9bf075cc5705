#pragma once
// Group commit for the embedded log: one thread owns the SegmentLog and writes whatever was
// submitted while the previous batch was being synced as one write() and one fdatasync().
// Concurrent publishers thus share a sync, so throughput grows with concurrency while each
// confirmation still means "on disk". No event-loop thread ever waits for the disk.
//
// After a failed write the writer fails everything from then on (Errc::io): the log's tail
// is unknown until the next open() repairs it, so nothing more may be confirmed.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "messaging/embedded/segment_log.h"
#include "runtime/error.h"

namespace stoa::messaging::embedded {

class LogWriter {
 public:
  // Runs on the writer thread once the record is durable (or failed). Must be quick.
  using Done = std::function<void(const Status&)>;

  explicit LogWriter(std::unique_ptr<SegmentLog> log);
  ~LogWriter();  // stop()
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Queues one framed record (SegmentLog::frame). Records reach the file in submit order.
  // `done` may be empty. After stop(), `done` gets Errc::cancelled at once.
  void submit(std::string framed, Done done);
  // Writes what is queued, then joins the thread. Idempotent.
  void stop();

  // The last write error, Ok while healthy.
  Status health() const;

 private:
  void run();

  struct Item {
    std::string framed;
    Done done;
  };
  std::unique_ptr<SegmentLog> log_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool stopped_ = false;
  Status failure_ = Ok{};
  std::thread thread_;
};

}  // namespace stoa::messaging::embedded
