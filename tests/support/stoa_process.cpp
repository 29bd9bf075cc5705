#include "support/stoa_process.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "support/raw_http.h"

namespace stoa::test {

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string stoa_binary() {
  const char* path = std::getenv("STOA_BINARY");
  if (path == nullptr || *path == '\0') {
    ADD_FAILURE() << "STOA_BINARY is not set (ctest sets it to the built stoa binary)";
    return "/nonexistent/stoa";
  }
  return path;
}

std::string test_workers_binary() {
  return (std::filesystem::path(stoa_binary()).parent_path() / "stoa_test_workers").string();
}

StoaProcess::StoaProcess(std::vector<std::string> args, std::map<std::string, std::string> env,
                         std::vector<std::string> launcher, std::string binary) {
  if (!env.contains("STOA_ADMIN_LISTEN")) {
    admin_port = free_port();
    env["STOA_ADMIN_LISTEN"] = "127.0.0.1:" + std::to_string(admin_port);
  } else {
    admin_port = static_cast<std::uint16_t>(
        std::stoi(env["STOA_ADMIN_LISTEN"].substr(env["STOA_ADMIN_LISTEN"].rfind(':') + 1)));
  }
  if (!env.contains("STOA_GATEWAY_LISTEN")) {
    gateway_port = free_port();
    env["STOA_GATEWAY_LISTEN"] = "127.0.0.1:" + std::to_string(gateway_port);
  }
  if (!env.contains("STOA_S3_LISTEN")) {
    s3_port = free_port();
    env["STOA_S3_LISTEN"] = "127.0.0.1:" + std::to_string(s3_port);
  }
  if (!env.contains("STOA_USER_LISTEN")) {
    user_port = free_port();
    env["STOA_USER_LISTEN"] = "127.0.0.1:" + std::to_string(user_port);
  }
  // The process's data (objects, the SQLite database) lives in a fresh directory, not in the
  // test's working directory, unless the test names its own.
  std::string pattern = (std::filesystem::temp_directory_path() / "stoa-data-XXXXXX").string();
  if (::mkdtemp(pattern.data()) != nullptr) data_dir = pattern;
  if (!env.contains("STOA_OBJECTS_URL")) {
    objects_dir = data_dir + "/objects";
    std::error_code ignored;
    std::filesystem::create_directories(objects_dir, ignored);
    env["STOA_OBJECTS_URL"] = "file://" + objects_dir;
  }
  if (!env.contains("STOA_DATABASE_URL"))
    env["STOA_DATABASE_URL"] = "sqlite://" + data_dir + "/stoa.db";
  if (!env.contains("STOA_BROKER_URL")) {
    broker_dir = data_dir + "/events";  // the embedded broker belongs to one process
    env["STOA_BROKER_URL"] = "embedded://" + broker_dir;
  }
  if (!env.contains("STOA_PROCESS_THREADS")) env["STOA_PROCESS_THREADS"] = "2";
  if (env.contains("STOA_LOG_LEVEL")) {
    logs_ready_ = env["STOA_LOG_LEVEL"] == "debug" || env["STOA_LOG_LEVEL"] == "info";
  }
  args.insert(args.begin(), binary.empty() ? stoa_binary() : binary);
  args.insert(args.begin(), launcher.begin(), launcher.end());
  child_ = std::make_unique<ChildProcess>(std::move(args), env);
}

StoaProcess::~StoaProcess() {
  child_.reset();
  std::error_code ignored;
  if (!data_dir.empty()) std::filesystem::remove_all(data_dir, ignored);
}

bool StoaProcess::wait_ready(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool healthy = false;
  while (std::chrono::steady_clock::now() < deadline) {
    healthy = healthy || status_of(http_get(admin_port, "/healthz")) == 200;
    // The components start after the admin listener (the workers open the database and the
    // broker), so a test's first request waits for all of them.
    if (healthy && (!logs_ready_ || log().find("\"msg\":\"ready\"") != std::string::npos)) {
      return true;
    }
    if (wait_exit(std::chrono::milliseconds(0))) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void StoaProcess::signal(int sig) {
  child_->signal(sig);
}

std::optional<int> StoaProcess::wait_exit(std::chrono::milliseconds timeout) {
  return child_->wait_exit(timeout);
}

std::string StoaProcess::log() const {
  return child_->output();
}

int StoaProcess::pid() const {
  return child_->pid();
}

}  // namespace stoa::test
