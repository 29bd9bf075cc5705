#include "messaging/embedded/segment_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "messaging/embedded/crc32c.h"

namespace stoa::messaging::embedded {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "STOALOG1";
constexpr std::size_t kHeader = 8;  // length + crc

Error os_error(const std::string& what, const std::string& path) {
  return Error{Errc::io, what + " " + path + ": " + std::strerror(errno)};
}

std::uint32_t load32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void store32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string segment_name(std::uint64_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.log", static_cast<unsigned long long>(index));
  return name;
}

Status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("cannot write", path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return Ok{};
}

Status sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_error("cannot open directory", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return os_error("cannot fsync directory", dir);
  return Ok{};
}

Result<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return os_error("cannot open", path);
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return os_error("cannot read", path);
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return bytes;
}

// Where the valid records of `bytes` end (after the header); visits them.
struct Scan {
  std::size_t valid_end = 0;
  std::uint64_t records = 0;
  std::string fault;  // why scanning stopped before the end, "" when it did not
};

Result<Scan> scan(std::string_view bytes, const SegmentLog::Visitor& visit) {
  Scan result;
  std::size_t at = kMagic.size();
  while (at < bytes.size()) {
    if (bytes.size() - at < kHeader + 1) {
      result.fault = "a short record header";
      break;
    }
    const std::uint32_t length = load32(bytes.data() + at);
    const std::uint32_t crc = load32(bytes.data() + at + 4);
    if (length == 0 || length > kMaxRecordBytes) {
      result.fault = "a record length of " + std::to_string(length);
      break;
    }
    if (bytes.size() - at - kHeader < length) {
      result.fault = "a record cut short";
      break;
    }
    const std::string_view body = bytes.substr(at + kHeader, length);
    if (crc32c(body) != crc) {
      result.fault = "a checksum mismatch";
      break;
    }
    auto status = visit(static_cast<std::uint8_t>(body[0]), body.substr(1));
    if (!status) return status.error();
    ++result.records;
    at += kHeader + length;
  }
  result.valid_end = std::min(at, bytes.size());
  return result;
}

}  // namespace

void SegmentLog::frame(std::string& out, std::uint8_t type, std::string_view payload) {
  std::string body;
  body.reserve(payload.size() + 1);
  body.push_back(static_cast<char>(type));
  body.append(payload);
  store32(out, static_cast<std::uint32_t>(body.size()));
  store32(out, crc32c(body));
  out.append(body);
}

Result<std::unique_ptr<SegmentLog>> SegmentLog::open(const std::string& dir,
                                                     std::uint64_t segment_bytes,
                                                     const Visitor& visit, RecoveryReport* report) {
  std::unique_ptr<SegmentLog> log(new SegmentLog());
  log->dir_ = dir;
  log->segment_bytes_ = segment_bytes;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{Errc::io, "cannot create the broker directory " + dir + ": " + ec.message()};

  const std::string lock_path = dir + "/LOCK";
  log->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (log->lock_fd_ < 0) return os_error("cannot open", lock_path);
  if (::flock(log->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Error{Errc::conflict,
                   "the embedded broker directory " + dir +
                       " is in use by another process (it holds " + lock_path +
                       "); one process owns an embedded broker: run the others with "
                       "`stoa serve` components that do not need it, or use RabbitMQ/Kafka"};
    }
    return os_error("cannot lock", lock_path);
  }

  std::vector<std::uint64_t> indexes;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 24 || !name.ends_with(".log")) continue;
    const std::string digits = name.substr(0, 20);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    indexes.push_back(std::stoull(digits));
  }
  if (ec) return Error{Errc::io, "cannot list " + dir + ": " + ec.message()};
  std::sort(indexes.begin(), indexes.end());

  RecoveryReport local;
  for (std::size_t i = 0; i < indexes.size(); ++i) {
    const bool last = i + 1 == indexes.size();
    const std::string path = dir + "/" + segment_name(indexes[i]);
    auto bytes = read_file(path);
    if (!bytes) return bytes.error();
    if (bytes->size() < kMagic.size() || std::string_view(*bytes).substr(0, 8) != kMagic) {
      // A segment whose header never reached the disk is empty: only the newest can be.
      if (last && bytes->size() < kMagic.size()) {
        ::unlink(path.c_str());
        indexes.pop_back();
        break;
      }
      return Error{Errc::io, path + " is not a Stoa log segment (bad header)"};
    }
    auto scanned = scan(*bytes, visit);
    if (!scanned) return scanned.error();
    local.records += scanned->records;
    ++local.segments;
    if (scanned->valid_end < bytes->size()) {
      if (!last) {
        return Error{Errc::io, path + " is corrupt at byte " + std::to_string(scanned->valid_end) +
                                   " (" + scanned->fault +
                                   ") before the end of the log; refusing to drop confirmed "
                                   "messages — restore the directory from a copy"};
      }
      // The torn tail of the last batch: never confirmed, so cut it off.
      if (::truncate(path.c_str(), static_cast<off_t>(scanned->valid_end)) != 0) {
        return os_error("cannot truncate", path);
      }
      local.truncated_bytes = bytes->size() - scanned->valid_end;
    }
  }

  if (indexes.empty()) {
    auto status = log->start_segment(0);
    if (!status) return status.error();
  } else {
    log->segment_index_ = indexes.back();
    const std::string path = dir + "/" + segment_name(log->segment_index_);
    log->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (log->fd_ < 0) return os_error("cannot open", path);
    struct stat st {};
    if (::fstat(log->fd_, &st) != 0) return os_error("cannot stat", path);
    log->segment_size_ = static_cast<std::uint64_t>(st.st_size);
    if (local.truncated_bytes > 0 && ::fdatasync(log->fd_) != 0) {
      return os_error("cannot fdatasync", path);
    }
  }
  if (report != nullptr) *report = local;
  return log;
}

SegmentLog::~SegmentLog() {
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Status SegmentLog::start_segment(std::uint64_t index) {
  const std::string path = dir_ + "/" + segment_name(index);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return os_error("cannot create", path);
  auto status = write_all(fd, kMagic, path);
  if (status && ::fdatasync(fd) != 0) status = os_error("cannot fdatasync", path);
  if (status) status = sync_dir(dir_);  // the new file's name is durable too
  if (!status) {
    ::close(fd);
    return status;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  segment_index_ = index;
  segment_size_ = kMagic.size();
  return Ok{};
}

Status SegmentLog::append(std::string_view framed) {
  if (fd_ < 0) return Error{Errc::io, "the log is closed"};
  if (segment_size_ > kMagic.size() && segment_size_ + framed.size() > segment_bytes_) {
    auto status = start_segment(segment_index_ + 1);
    if (!status) return status;
  }
  const std::string path = dir_ + "/" + segment_name(segment_index_);
  auto status = write_all(fd_, framed, path);
  if (!status) return status;
  if (::fdatasync(fd_) != 0) return os_error("cannot fdatasync", path);
  segment_size_ += framed.size();
  return Ok{};
}

}  // namespace stoa::messaging::embedded
