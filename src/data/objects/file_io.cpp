#include "data/objects/file_io.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "runtime/digest.h"
#include "runtime/hex.h"

namespace stoa::objects::fileio {

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Error os_error(std::string_view what, const std::filesystem::path& path) {
  int e = errno;
  Errc code = e == ENOENT                  ? Errc::not_found
              : e == ENOSPC || e == EDQUOT ? Errc::too_large
                                           : Errc::io;
  return Error{code, std::string(what) + " " + path.string() + ": " + std::strerror(e)};
}

Status write_all(int fd, std::string_view first, std::string_view second) {
  while (!first.empty()) {
    iovec parts[2] = {{const_cast<char*>(first.data()), first.size()},
                      {const_cast<char*>(second.data()), second.size()}};
    ssize_t n = ::writev(fd, parts, 2);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("write", "object file");
    }
    auto written = static_cast<std::size_t>(n);
    if (written >= first.size()) {
      second.remove_prefix(written - first.size());
      first = {};
    } else {
      first.remove_prefix(written);
    }
  }
  return write_all(fd, second);
}

Status write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("write", "object file");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return Ok{};
}

Result<std::size_t> pread_full(int fd, char* out, std::size_t size, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("read", "object file");
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Status fsync_directory(const std::filesystem::path& directory) {
  Fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return os_error("open", directory);
  if (::fsync(fd.get()) != 0) return os_error("fsync", directory);
  return Ok{};
}

std::string random_name() {
  thread_local std::mt19937_64 generator(std::random_device{}());
  std::string bytes(16, '\0');
  for (std::size_t i = 0; i < bytes.size(); i += 8) {
    std::uint64_t v = generator();
    std::memcpy(bytes.data() + i, &v, 8);
  }
  return to_hex(bytes);
}

}  // namespace stoa::objects::fileio
