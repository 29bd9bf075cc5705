#pragma once
// Helpers shared by the observability tests: temporary files, JSON lines, bounded waits,
// and running a coroutine to completion.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/async.h"

namespace stoa::obs::test {

// A file under $TMPDIR removed at destruction.
class TempFile {
 public:
  TempFile() {
    const char* dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir != nullptr ? dir : "/tmp") + "/stoa-obs-XXXXXX";
    fd_ = ::mkstemp(pattern.data());
    path_ = pattern;
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }
  // A new descriptor for writing (appending) to the file; the caller owns it.
  int open_for_append() const { return ::open(path_.c_str(), O_WRONLY | O_APPEND); }
  std::string contents() const {
    std::ifstream in(path_, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(contents());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

 private:
  int fd_ = -1;
  std::string path_;
};

inline boost::json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text;
    return {};
  }
  return value.as_object();
}

inline boost::json::value parse_json(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) ADD_FAILURE() << "not JSON (" << ec.message() << "): " << text;
  return value;
}

inline std::string str(const boost::json::value& value) {
  return value.is_string() ? std::string(value.as_string()) : std::string();
}

// Polls `condition` until it holds or `bound` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds bound = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

// Runs `make()` on a fresh io_context until it completes; fails the test after `bound`.
template <class T>
T run_coroutine(std::function<Awaitable<T>()> make,
                std::chrono::milliseconds bound = std::chrono::seconds(10)) {
  boost::asio::io_context context(1);
  auto future = boost::asio::co_spawn(context, make(), boost::asio::use_future);
  context.run_for(bound);
  if (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    ADD_FAILURE() << "coroutine did not complete within the bound";
    context.stop();
    throw std::runtime_error("coroutine timed out");
  }
  return future.get();
}

}  // namespace stoa::obs::test
