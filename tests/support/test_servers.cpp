#include "support/test_servers.h"

#include <chrono>
#include <cstdlib>

namespace stoa::test {

std::string server_url(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

bool control_server(std::string_view server, std::string_view action) {
  const std::string script = server_url("STOA_TEST_SERVERS");
  const std::string dir = server_url("STOA_TEST_SERVERS_DIR");
  if (script.empty() || dir.empty()) return false;
  ChildProcess ctl({script, "ctl", dir, std::string(server), std::string(action)});
  auto code = ctl.wait_exit(std::chrono::seconds(90));
  return code && *code == 0;
}

}  // namespace stoa::test
