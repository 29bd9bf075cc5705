#include "support/run_sync.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace stoa::test::detail {

void report_hang(std::chrono::milliseconds bound, const std::source_location& where) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::fprintf(stderr,
               "%s%s%s: the coroutine run at %s:%u did not finish within %lld ms; aborting so "
               "that a hang fails the test instead of stalling the run\n",
               test ? test->test_suite_name() : "", test ? "." : "", test ? test->name() : "",
               where.file_name(), static_cast<unsigned>(where.line()),
               static_cast<long long>(bound.count()));
  std::fflush(stderr);
  std::abort();
}

}  // namespace stoa::test::detail
