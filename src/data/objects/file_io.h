#pragma once
// Small POSIX helpers for the filesystem store: owned descriptors, full writes and reads,
// and errno turned into Stoa errors. Internal to data/objects.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "runtime/error.h"

namespace stoa::objects::fileio {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// An Error for the failed operation `what` on `path`, from errno (ENOENT: not_found).
Error os_error(std::string_view what, const std::filesystem::path& path);

Status write_all(int fd, std::string_view bytes);
// Reads exactly out.size() bytes at `offset` (fewer only at the end of the file).
Result<std::size_t> pread_full(int fd, char* out, std::size_t size, std::uint64_t offset);
Status fsync_directory(const std::filesystem::path& directory);
// 16 random bytes in hex: names of temporary files and upload ids.
std::string random_name();

}  // namespace stoa::objects::fileio
