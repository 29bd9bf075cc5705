#include "data/objects/file_object.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <unordered_map>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "data/objects/file_layout.h"
#include "runtime/digest.h"
#include "runtime/hex.h"

namespace stoa::objects::fileobject {

namespace {

constexpr std::size_t kChunkBytes = 256 * 1024;
constexpr std::size_t kSmallFileBytes = 64 * 1024;  // read whole when opened

class FileReader final : public ObjectReader {
 public:
  FileReader(OpenFile file, std::uint64_t first, std::uint64_t length, bool ranged)
      : fd_(std::move(file.fd)), data_(std::move(file.data)), offset_(first), remaining_(length) {
    info_ = std::move(file.info);
    first_ = first;
    length_ = length;
    ranged_ = ranged;
  }

  std::optional<std::string> take_in_memory() override {
    if (!data_) return std::nullopt;
    std::string bytes = offset_ == 0 && remaining_ == data_->size()
                            ? std::move(*data_)
                            : data_->substr(static_cast<std::size_t>(offset_),
                                            static_cast<std::size_t>(remaining_));
    data_.reset();
    remaining_ = 0;
    return bytes;
  }

  Awaitable<Result<std::size_t>> read(std::span<char> out) override {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), remaining_));
    if (want == 0) co_return std::size_t{0};
    if (data_) {
      std::memcpy(out.data(), data_->data() + offset_, want);
      offset_ += want;
      remaining_ -= want;
      co_return want;
    }
    Result<std::size_t> n = fileio::pread_full(fd_.get(), out.data(), want, offset_);
    if (!n) co_return n.error();
    if (*n != want) co_return Error{Errc::io, "the object file ended early"};
    offset_ += *n;
    remaining_ -= *n;
    co_return *n;
  }

 private:
  fileio::Fd fd_;
  std::optional<std::string> data_;
  std::uint64_t offset_;
  std::uint64_t remaining_;
};

// Creates the missing directories of `directory` down from `stop_at`.
Status make_parents(const std::filesystem::path& directory, const std::filesystem::path& stop_at) {
  if (directory == stop_at) return Ok{};
  if (::mkdir(directory.c_str(), 0755) == 0 || errno == EEXIST) return Ok{};
  if (errno != ENOENT) return fileio::os_error("mkdir", directory);
  if (auto s = make_parents(directory.parent_path(), stop_at); !s) return s;
  if (::mkdir(directory.c_str(), 0755) == 0 || errno == EEXIST) return Ok{};
  return fileio::os_error("mkdir", directory);
}

// Publishes `temporary` at `target`; a concurrent delete may remove the parent directory
// between mkdir and rename, so ENOENT retries a few times.
Status publish(const WriteRequest& request) {
  for (int attempt = 0;; ++attempt) {
    // The parent usually exists: it is made only after a first attempt found it missing.
    if (attempt > 0) {
      if (auto s = make_parents(request.target.parent_path(), request.stop_at); !s) return s;
    }
    int rc = request.exclusive ? ::link(request.temporary.c_str(), request.target.c_str())
                               : ::rename(request.temporary.c_str(), request.target.c_str());
    if (rc == 0) {
      if (request.exclusive) ::unlink(request.temporary.c_str());
      return fileio::fsync_directory(request.target.parent_path());
    }
    if (errno == EEXIST && request.exclusive) {
      return Error{Errc::conflict, "the key exists (If-None-Match: *)"};
    }
    if ((errno == EISDIR || errno == ENOTDIR)) {
      return Error{Errc::conflict, "the key's path is taken by another key's directory"};
    }
    if (errno != ENOENT || attempt >= 4) return fileio::os_error("publish", request.target);
  }
}

// Descriptions of recently opened object files, per thread. An object file never changes
// once published (a put writes a new file and renames it over the old), so a file with the
// same device, inode, size and change and modification times has the same description: a
// hit skips reading and parsing its JSON, most of the work of a small GET.
class DescriptionCache {
 public:
  const ObjectInfo* find(const struct stat& st) const {
    auto it = entries_.find(Key{st.st_dev, st.st_ino});
    if (it == entries_.end() || !same_file(it->second, st)) return nullptr;
    return &it->second.info;
  }
  void remember(const struct stat& st, const ObjectInfo& info) {
    if (entries_.size() >= kEntries) entries_.clear();  // crude, bounded, rarely hit
    entries_.insert_or_assign(Key{st.st_dev, st.st_ino},
                              Entry{st.st_size, st.st_mtim, st.st_ctim, info});
  }

 private:
  static constexpr std::size_t kEntries = 2048;
  struct Key {
    dev_t device;
    ino_t inode;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<std::uint64_t>()(static_cast<std::uint64_t>(k.inode) * 31 + k.device);
    }
  };
  struct Entry {
    off_t size;
    timespec modified, changed;
    ObjectInfo info;
  };
  static bool same_time(const timespec& a, const timespec& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
  }
  static bool same_file(const Entry& e, const struct stat& st) {
    return e.size == st.st_size && same_time(e.modified, st.st_mtim) &&
           same_time(e.changed, st.st_ctim);
  }
  std::unordered_map<Key, Entry, KeyHash> entries_;
};

DescriptionCache& description_cache() {
  thread_local DescriptionCache cache;
  return cache;
}

// Reads the body until `out` is full or the body ends; how many bytes `out` now holds.
Awaitable<Result<std::size_t>> fill_chunk(ByteSource& body, std::span<char> out) {
  std::size_t filled = 0;
  while (filled < out.size()) {
    Result<std::size_t> n = co_await body.read(out.subspan(filled));
    if (!n) co_return n.error();
    if (*n == 0) break;
    filled += *n;
  }
  co_return filled;
}

// Hashes and writes a full chunk on the blocking pool.
Awaitable<Status> flush_chunk(fileio::BlockingPool& pool, int fd, Hasher& md5,
                              std::string_view bytes) {
  auto flush = [&]() -> Status {
    md5.update(bytes);
    return fileio::write_all(fd, bytes);
  };
  co_return co_await pool.run(flush);
}

}  // namespace

Awaitable<Result<ObjectInfo>> write(WriteRequest request, ByteSource& body) {
  fileio::Fd fd(::open(request.temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) co_return fileio::os_error("create", request.temporary);
  struct Cleanup {
    const std::filesystem::path& path;
    bool armed = true;
    ~Cleanup() {
      if (armed) ::unlink(path.c_str());
    }
  } cleanup{request.temporary};

  if (request.exclusive && ::access(request.target.c_str(), F_OK) == 0) {
    co_return Error{Errc::conflict, "the key exists (If-None-Match: *)"};
  }
  Hasher md5_hasher(Hasher::Kind::md5);
  // Chunks are filled before they are written: one write per chunk however the body arrives,
  // and an object smaller than a chunk goes to disk with its trailer in one write, on the
  // pool. Not zeroed: zero-filling cost a small PUT more than the rest of its work. A full
  // chunk is hashed and written on the pool while the next one fills from the connection:
  // MD5 and the copy into the page cache overlap with receiving.
  std::unique_ptr<char[]> chunks[2] = {std::unique_ptr<char[]>(new char[kChunkBytes]), nullptr};
  int current = 0;
  Result<std::size_t> filled = co_await fill_chunk(body, {chunks[0].get(), kChunkBytes});
  if (!filled) co_return filled.error();
  std::uint64_t size = *filled;
  while (*filled == kChunkBytes) {
    if (!chunks[1 - current]) chunks[1 - current].reset(new char[kChunkBytes]);
    std::string_view full(chunks[current].get(), kChunkBytes);
    std::span<char> next(chunks[1 - current].get(), kChunkBytes);
    if (request.pool) {
      auto flushing = flush_chunk(*request.pool, fd.get(), md5_hasher, full);
      auto filling = fill_chunk(body, next);
      using boost::asio::experimental::awaitable_operators::operator&&;
      auto [flushed, more] = co_await (std::move(flushing) && std::move(filling));
      if (!flushed) co_return flushed.error();
      filled = std::move(more);
    } else {
      md5_hasher.update(full);
      if (auto s = fileio::write_all(fd.get(), full); !s) co_return s.error();
      filled = co_await fill_chunk(body, next);
    }
    if (!filled) co_return filled.error();
    size += *filled;
    current = 1 - current;
  }
  const std::string_view tail(chunks[current].get(), *filled);
  md5_hasher.update(tail);
  std::string digest = md5_hasher.finish();
  if (request.content_md5 && *request.content_md5 != digest) {
    co_return Error{Errc::protocol, "the body does not match its Content-MD5"};
  }
  ObjectInfo info = std::move(request.info);
  info.size = size;
  info.etag = request.etag ? *request.etag : to_hex(digest);
  info.last_modified =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  auto commit = [&]() -> Status {
    std::string trailer = layout::trailer(info);
    if (auto s = fileio::write_all(fd.get(), tail, trailer); !s) {
      return s;
    }
    if (::fsync(fd.get()) != 0) return fileio::os_error("fsync", request.temporary);
    fd = fileio::Fd();
    return publish(request);
  };
  Status committed = request.pool ? co_await request.pool->run(commit) : commit();
  if (!committed) co_return committed.error();
  cleanup.armed = false;  // renamed, or linked and unlinked by publish()
  co_return info;
}

Result<OpenFile> open(const std::filesystem::path& path) {
  fileio::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fileio::os_error("open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fileio::os_error("stat", path);
  if (!S_ISREG(st.st_mode)) return Error{Errc::not_found, "not an object file"};
  auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (file_size < layout::kFooterBytes)
    return Error{Errc::io, "corrupt object file " + path.string()};
  if (const ObjectInfo* known = description_cache().find(st)) {
    OpenFile file{std::move(fd), *known, std::nullopt};
    if (file_size <= kSmallFileBytes) {
      std::string data(static_cast<std::size_t>(known->size), '\0');
      auto n = fileio::pread_full(file.fd.get(), data.data(), data.size(), 0);
      if (!n) return n.error();
      if (*n != data.size()) return Error{Errc::io, "object file shrank: " + path.string()};
      file.data = std::move(data);
    }
    return file;
  }
  // One read takes the end of the file: the footer, the description and, for a small
  // object, the data too.
  std::uint64_t tail_bytes = std::min<std::uint64_t>(file_size, kSmallFileBytes);
  std::string tail(static_cast<std::size_t>(tail_bytes), '\0');
  auto n = fileio::pread_full(fd.get(), tail.data(), tail.size(), file_size - tail_bytes);
  if (!n) return n.error();
  if (*n != tail.size()) return Error{Errc::io, "object file shrank: " + path.string()};
  auto length =
      layout::description_length(std::string_view(tail).substr(tail.size() - layout::kFooterBytes));
  if (!length || *length + layout::kFooterBytes > file_size) {
    return Error{Errc::io, "corrupt object file " + path.string()};
  }
  std::string description;
  if (*length + layout::kFooterBytes <= tail.size()) {
    description = tail.substr(tail.size() - layout::kFooterBytes - *length, *length);
  } else {
    description.assign(*length, '\0');
    n = fileio::pread_full(fd.get(), description.data(), description.size(),
                           file_size - layout::kFooterBytes - *length);
    if (!n) return n.error();
  }
  auto parsed = layout::parse_description(description, file_size);
  if (!parsed) return parsed.error();
  description_cache().remember(st, parsed->info);
  OpenFile file{std::move(fd), std::move(parsed->info), std::nullopt};
  if (tail.size() == file_size) {
    tail.resize(static_cast<std::size_t>(parsed->data_bytes));
    file.data = std::move(tail);
  }
  return file;
}

std::unique_ptr<ObjectReader> reader(OpenFile file, std::optional<RangeRequest> range,
                                     Status* range_error) {
  auto selected = resolve_range(file.info.size, range);
  if (!selected) {
    *range_error = Error{Errc::invalid_argument, "the range is not satisfiable"};
    return nullptr;
  }
  return std::make_unique<FileReader>(std::move(file), selected->first, selected->second,
                                      range.has_value());
}

void prune_empty_directories(std::filesystem::path directory,
                             const std::filesystem::path& stop_at) {
  while (directory != stop_at && directory.native().size() > stop_at.native().size()) {
    if (::rmdir(directory.c_str()) != 0) return;  // not empty (or gone): stop
    directory = directory.parent_path();
  }
}

}  // namespace stoa::objects::fileobject
