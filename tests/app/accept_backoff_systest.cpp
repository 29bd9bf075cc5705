// Out of file descriptors, the accept loop must back off rather than spin, and serve again
// once descriptors are free.
#include <unistd.h>

#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "support/raw_http.h"
#include "support/stoa_process.h"

namespace stoa::test {
namespace {

using namespace std::chrono_literals;

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(AcceptBackoff, RunningOutOfDescriptorsBacksOffThenRecovers) {
  std::string prlimit = "/usr/bin/prlimit";
  ASSERT_EQ(::access(prlimit.c_str(), X_OK), 0) << "prlimit (util-linux) is missing";
  StoaProcess stoa({"up"}, {}, {prlimit, "--nofile=48:48"});
  ASSERT_TRUE(stoa.wait_ready()) << stoa.log();

  // Hold connections until the process has no descriptor left for the next accept.
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 64; ++i) held.push_back(std::make_unique<RawConnection>(stoa.gateway_port));
  std::this_thread::sleep_for(300ms);
  const std::string accept_error = R"("what":"accept")";
  std::size_t before = count(stoa.log(), accept_error);
  std::this_thread::sleep_for(1s);
  std::size_t during = count(stoa.log(), accept_error) - before;
  EXPECT_GT(count(stoa.log(), accept_error), 0u) << "the descriptor limit was never reached";
  // Backing off 100 ms per failure allows ~10 a second per thread; a spinning loop would log
  // thousands.
  EXPECT_LT(during, 100u) << "the accept loop spins on EMFILE";

  held.clear();  // the server's sessions see EOF and free their descriptors
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    status = status_of(http_get(stoa.gateway_port, "/v1/ping"));
    if (status != 200) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, 200) << "the server did not recover once descriptors were free";
}

}  // namespace
}  // namespace stoa::test
