#pragma once
// The embedded broker's durable, append-only log: a directory of segment files
// (00000000000000000000.log, 00000000000000000001.log, …), each a header ("STOALOG1") and
// framed records:
//
//   u32 length (of type + payload)  u32 crc32c (of type + payload)  u8 type  payload
//
// integers little-endian. append() writes a batch with one write() and one fdatasync(), so
// a batch is durable when it returns. A crash can leave only the last batch half-written:
// on open, the last segment is cut at its first record that is short, too long or fails
// its checksum (a torn tail, never confirmed). The same fault in an earlier segment is
// corruption of confirmed data: open() refuses with Errc::io rather than skip it.
//
// One process at a time: open() takes an exclusive flock() on DIR/LOCK and refuses with a
// message when another process holds it. Not thread-safe: one writer thread owns it.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/error.h"

namespace stoa::messaging::embedded {

inline constexpr std::uint32_t kMaxRecordBytes = 128u * 1024 * 1024;

struct RecoveryReport {
  std::uint64_t segments = 0;
  std::uint64_t records = 0;
  std::uint64_t truncated_bytes = 0;  // the torn tail cut from the last segment
};

class SegmentLog {
 public:
  // Called for every valid record in log order while opening; an Error stops the open.
  using Visitor = std::function<Status(std::uint8_t type, std::string_view payload)>;

  static Result<std::unique_ptr<SegmentLog>> open(const std::string& dir,
                                                  std::uint64_t segment_bytes, const Visitor& visit,
                                                  RecoveryReport* report = nullptr);
  ~SegmentLog();
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  // Appends `framed` (whole records made by frame()) and fdatasync()s. A new segment is
  // started first when the current one would pass segment_bytes. After an error the log's
  // tail is unknown: the caller must stop writing (the next open() repairs it).
  Status append(std::string_view framed);

  static void frame(std::string& out, std::uint8_t type, std::string_view payload);

  std::uint64_t segment_index() const { return segment_index_; }

 private:
  SegmentLog() = default;
  Status start_segment(std::uint64_t index);

  std::string dir_;
  std::uint64_t segment_bytes_ = 0;
  int lock_fd_ = -1;
  int fd_ = -1;
  std::uint64_t segment_index_ = 0;
  std::uint64_t segment_size_ = 0;
};

}  // namespace stoa::messaging::embedded
