#pragma once
// Runs the real stoa binary ($STOA_BINARY) for system tests, on free loopback ports, with
// its log captured, and makes sure it never outlives the test.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace stoa::test {

// A loopback TCP port that was free a moment ago.
std::uint16_t free_port();

class StoaProcess {
 public:
  // `args` follow the binary (e.g. {"up"}); `env` adds STOA_* overrides. Admin and gateway
  // listen on fresh free ports unless `env` sets them. `launcher` runs the binary (e.g.
  // {"/usr/bin/prlimit", "--nofile=64"}). `binary` replaces $STOA_BINARY (a test build of
  // stoa with test handlers, tests/workers/stoa_test_workers.cpp).
  StoaProcess(std::vector<std::string> args, std::map<std::string, std::string> env = {},
              std::vector<std::string> launcher = {}, std::string binary = {});
  ~StoaProcess();  // stops the process, then removes data_dir
  StoaProcess(const StoaProcess&) = delete;
  StoaProcess& operator=(const StoaProcess&) = delete;

  // Polls admin /healthz until 200, then waits for the "ready" log line (every component
  // started: the admin listener answers while they start), or the timeout (then false).
  // With log.level above info there is no such line: /healthz alone then.
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void signal(int sig);
  // The exit code once the process exits within `timeout` (128+N for a signal).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  std::string log() const;
  int pid() const;

  std::uint16_t admin_port = 0;
  std::uint16_t gateway_port = 0;
  std::uint16_t s3_port = 0;  // the objects component's S3 endpoint, unless env sets STOA_S3_LISTEN
  std::uint16_t user_port = 0;  // the user service, unless env sets STOA_USER_LISTEN
  // A fresh temporary directory, removed with the process: the object store (objects_dir,
  // unless env sets STOA_OBJECTS_URL) and the SQLite database (unless STOA_DATABASE_URL).
  std::string data_dir;
  std::string objects_dir;
  // The embedded broker's directory in data_dir, unless env sets STOA_BROKER_URL: the
  // embedded broker belongs to one process, and tests start several in one directory.
  std::string broker_dir;

 private:
  std::unique_ptr<ChildProcess> child_;  // killed if still running when the test ends
  bool logs_ready_ = true;               // log.level is debug or info
};

// The binary under test; fails the current test when STOA_BINARY is unset.
std::string stoa_binary();
// stoa_test_workers, built next to it: stoa plus a test-only event handler
// (tests/workers/test_workers_app.cpp).
std::string test_workers_binary();

}  // namespace stoa::test
