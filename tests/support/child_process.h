#pragma once
// A child process for tests (stoa itself, prometheus, ...): output captured in a temp file,
// killed and reaped when the object goes, so no server outlives its test.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stoa::test {

class ChildProcess {
 public:
  // argv[0] is the executable's path; `env` is added to the test's environment.
  ChildProcess(std::vector<std::string> argv, const std::map<std::string, std::string>& env = {});
  ~ChildProcess();  // SIGKILL if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void signal(int sig);
  // The exit code once the process exits within `timeout` (128+N for signal N).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Everything the process wrote to stdout and stderr so far.
  std::string output() const;
  int pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string output_path_;
  std::optional<int> exit_code_;
};

// Where an executable is on PATH, or "" when absent.
std::string find_executable(const std::string& name);

// True when every integration tier must run (CI): a missing server is then a failure.
bool require_all_tiers();

}  // namespace stoa::test
