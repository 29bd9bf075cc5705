// A real Prometheus server (Debian's) scrapes a running stoa's admin /metrics, and promtool
// lints the live exposition: what a user's monitoring would actually do.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/child_process.h"
#include "support/raw_http.h"
#include "support/stoa_process.h"

namespace stoa::test {
namespace {

using namespace std::chrono_literals;

std::string require_tool(const std::string& name) {
  std::string path = find_executable(name);
  if (path.empty() && require_all_tiers()) {
    ADD_FAILURE() << name << " is not installed; ./dev test installs Debian's prometheus";
  }
  return path;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/stoa-prom-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Prometheus, LiveMetricsPassPromtoolCheck) {
  std::string promtool = require_tool("promtool");
  if (promtool.empty()) GTEST_SKIP() << "promtool not installed";
  StoaProcess stoa({"up"});
  ASSERT_TRUE(stoa.wait_ready()) << stoa.log();
  ASSERT_EQ(status_of(http_get(stoa.gateway_port, "/v1/ping")), 200);
  ASSERT_EQ(status_of(http_get(stoa.gateway_port, "/v1/missing")), 404);
  std::string metrics = body_of(http_get(stoa.admin_port, "/metrics"));
  ASSERT_NE(metrics.find("http_server_request_duration_seconds_bucket"), std::string::npos);

  TempDir dir;
  std::string file = dir.path() + "/metrics.txt";
  std::ofstream(file) << metrics;
  ChildProcess check({"/bin/sh", "-c", promtool + " check metrics < " + file});
  EXPECT_EQ(check.wait_exit(30s), std::optional<int>(0)) << check.output();
  EXPECT_EQ(check.output(), "") << "promtool lint findings";
}

TEST(Prometheus, ServerScrapesStoaAdminEndpoint) {
  std::string prometheus = require_tool("prometheus");
  if (prometheus.empty()) GTEST_SKIP() << "prometheus not installed";
  StoaProcess stoa({"up"});
  ASSERT_TRUE(stoa.wait_ready()) << stoa.log();
  ASSERT_EQ(status_of(http_get(stoa.gateway_port, "/v1/ping")), 200);

  TempDir dir;
  std::ofstream(dir.path() + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      << "scrape_configs:\n  - job_name: stoa\n    static_configs:\n"
      << "      - targets: ['127.0.0.1:" << stoa.admin_port << "']\n";
  std::uint16_t port = free_port();
  ChildProcess server({prometheus, "--config.file=" + dir.path() + "/prometheus.yml",
                       "--storage.tsdb.path=" + dir.path() + "/data",
                       "--web.listen-address=127.0.0.1:" + std::to_string(port)});

  // Wait (bounded) until Prometheus has scraped stoa successfully and stored its histogram.
  const std::string query =
      "/api/v1/"
      "query?query=http_server_request_duration_seconds_count%7Bhttp_route%3D%22%2Fv1%2Fping%22%7D";
  std::string up, histogram;
  for (int i = 0; i < 300; ++i) {
    up = body_of(http_get(port, "/api/v1/query?query=up%7Bjob%3D%22stoa%22%7D"));
    histogram = body_of(http_get(port, query));
    if (up.find("\"1\"]") != std::string::npos &&
        histogram.find("stoa_component") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(up.find("\"1\"]"), std::string::npos) << "up{job=stoa}: " << up << "\n"
                                                  << server.output();
  EXPECT_NE(histogram.find("\"stoa_component\":\"gateway\""), std::string::npos) << histogram;
}

}  // namespace
}  // namespace stoa::test
