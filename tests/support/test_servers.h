#pragma once
// The servers of the integration tiers (*_pgtest, *_redistest, *_rmqtest): `./dev test` starts them
// on loopback with scripts/test-servers and exports their addresses as STOA_TEST_* variables.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "support/child_process.h"

namespace stoa::test {

// The value of environment variable `name` (STOA_TEST_PG_URL, STOA_TEST_REDIS_URL, ...),
// or "" when unset.
std::string server_url(const char* name);

// Takes a server away or brings it back in the middle of a test: scripts/test-servers ctl.
// `server` is redis, pg-primary, pg-replica or rabbitmq; `action` stop, kill or start. True on
// success.
bool control_server(std::string_view server, std::string_view action);

}  // namespace stoa::test

// Declares `const std::string var` holding the URL in environment variable `name`. When it is
// unset the test is skipped, or fails when every tier must run (CI).
#define STOA_TEST_SERVER_URL(var, name)                                         \
  const std::string var = ::stoa::test::server_url(name);                       \
  if (var.empty()) {                                                            \
    if (::stoa::test::require_all_tiers()) FAIL() << name << " is not set";     \
    GTEST_SKIP() << name << " is not set (./dev test starts the test servers)"; \
  }
