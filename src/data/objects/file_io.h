#pragma once
// Small POSIX helpers for the filesystem store: owned descriptors, full writes and reads,
// and errno turned into Stoa errors. Internal to data/objects.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "runtime/async.h"
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
// Both, in order, with as few writes as the kernel allows (writev).
Status write_all(int fd, std::string_view first, std::string_view second);
// Reads exactly out.size() bytes at `offset` (fewer only at the end of the file).
Result<std::size_t> pread_full(int fd, char* out, std::size_t size, std::uint64_t offset);
Status fsync_directory(const std::filesystem::path& directory);
// 16 random bytes in hex: names of temporary files and upload ids.
std::string random_name();

// Threads for the calls that block for long (fsync): an event-loop thread waiting for the
// disk would stall every connection on it, and many fsyncs in flight let the filesystem
// commit them together.
class BlockingPool {
 public:
  explicit BlockingPool(std::size_t threads) : pool_(threads) {}
  ~BlockingPool() { pool_.join(); }

  // Runs f() on a pool thread; the caller resumes on its own executor. Written without
  // co_spawn on purpose: co_spawn leaves a work-tracking copy of the caller's executor on the
  // pool thread after the caller resumed, and destroying it could race with the caller's
  // io_context going away (seen as a crash at shutdown).
  template <class F>
  Awaitable<std::invoke_result_t<F>> run(F f) {
    std::optional<std::invoke_result_t<F>> out;
    co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
        [this, &f, &out](auto handler) {
          boost::asio::post(pool_, [handler = std::move(handler), &f, &out]() mutable {
            out.emplace(f());
            auto executor = boost::asio::get_associated_executor(handler);
            boost::asio::post(executor, std::move(handler));
          });
        },
        boost::asio::use_awaitable);
    co_return std::move(*out);
  }

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace stoa::objects::fileio
