// Prometheus metrics: HTTP histogram, handles for other layers, process metrics, and the
// exposition checked by Prometheus's own linter (promtool).
#include "observability/metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "observability/obs_test_support.h"

namespace stoa::obs {
namespace {

// The value of the sample `series` (name plus labels exactly as exposed) or -1.
double sample(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// Runs `promtool check metrics` on `exposition`. Returns false when promtool is missing.
bool promtool_check(const std::string& exposition, int& exit_code, std::string& output) {
  if (::access("/usr/bin/promtool", X_OK) != 0 &&
      std::system("command -v promtool >/dev/null") != 0) {
    return false;
  }
  test::TempFile input;
  {
    std::ofstream out(input.path(), std::ios::binary);
    out << exposition;
  }
  const std::string command = "promtool check metrics < '" + input.path() + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return false;
  char buffer[4096];
  output.clear();
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return true;
}

void expect_promtool_clean(const std::string& exposition) {
  int exit_code = -1;
  std::string output;
  if (!promtool_check(exposition, exit_code, output)) {
    if (std::getenv("CI") != nullptr) {
      FAIL() << "promtool is not installed (Debian package prometheus); under CI it must be";
    }
    GTEST_SKIP() << "promtool not found: install Debian's prometheus package to lint metrics";
  }
  EXPECT_EQ(exit_code, 0) << output << "\n--- exposition ---\n" << exposition;
  EXPECT_EQ(output, "") << "\n--- exposition ---\n" << exposition;
}

const std::string kSeries =
    R"(http_request_method="GET",http_response_status_code="200",http_route="/v1/users/{id}",stoa_component="user")";

TEST(MetricsTest, RequestDurationHistogramAfterObservations) {
  Metrics metrics;
  metrics.observe_http_request("user", "GET", "/v1/users/{id}", 200, 0.003);
  metrics.observe_http_request("user", "GET", "/v1/users/{id}", 200, 0.2);
  metrics.observe_http_request("user", "POST", "/v1/users", 201, 0.0004);
  const std::string text = metrics.expose();

  EXPECT_NE(text.find("# HELP http_server_request_duration_seconds "), std::string::npos);
  EXPECT_NE(text.find("# TYPE http_server_request_duration_seconds histogram"), std::string::npos);
  EXPECT_EQ(sample(text, "http_server_request_duration_seconds_count{" + kSeries + "}"), 2);
  EXPECT_NEAR(sample(text, "http_server_request_duration_seconds_sum{" + kSeries + "}"), 0.203,
              1e-9);
  EXPECT_EQ(
      sample(text, "http_server_request_duration_seconds_bucket{" + kSeries + ",le=\"0.0025\"}"),
      0);
  EXPECT_EQ(
      sample(text, "http_server_request_duration_seconds_bucket{" + kSeries + ",le=\"0.005\"}"), 1);
  EXPECT_EQ(
      sample(text, "http_server_request_duration_seconds_bucket{" + kSeries + ",le=\"0.25\"}"), 2);
  EXPECT_EQ(
      sample(text, "http_server_request_duration_seconds_bucket{" + kSeries + ",le=\"+Inf\"}"), 2);
  // The sub-millisecond buckets exist.
  EXPECT_NE(text.find("le=\"0.0005\""), std::string::npos);
  EXPECT_NE(text.find("le=\"10\""), std::string::npos);
}

TEST(MetricsTest, HotPathCountsEveryObservationFromManyThreads) {
  Metrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics] {
      for (int i = 0; i < 2500; ++i) {
        metrics.observe_http_request("user", "GET", "/v1/users/{id}", 200, 0.001);
        metrics.observe_http_request("user", "GET", "/v1/users/{id}", 404, 0.001);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const std::string text = metrics.expose();
  EXPECT_EQ(sample(text, "http_server_request_duration_seconds_count{" + kSeries + "}"), 10000);
}

TEST(MetricsTest, PerThreadCacheNeverMixesMetricsObjects) {
  auto first = std::make_unique<Metrics>();
  first->observe_http_request("user", "GET", "/a", 200, 0.1);
  first.reset();
  Metrics second;  // may reuse the address of the first
  second.observe_http_request("user", "GET", "/a", 200, 0.1);
  Metrics third;
  third.observe_http_request("user", "GET", "/a", 200, 0.1);
  second.observe_http_request("user", "GET", "/a", 200, 0.1);
  const std::string series =
      R"(http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/a",stoa_component="user"})";
  EXPECT_EQ(sample(second.expose(), series), 2);
  EXPECT_EQ(sample(third.expose(), series), 1);
}

TEST(MetricsTest, HandlesForOtherLayers) {
  Metrics metrics;
  Counter published =
      metrics.counter("stoa_test_published_total", "Events published.", {{"topic", "orders"}});
  published.inc();
  published.inc(2);
  published.inc(-5);  // ignored: counters only go up
  EXPECT_EQ(published.value(), 3);
  // The same name and labels: the same series.
  metrics.counter("stoa_test_published_total", "Events published.", {{"topic", "orders"}}).inc();
  EXPECT_EQ(published.value(), 4);

  Gauge depth = metrics.gauge("stoa_test_queue_depth", "Jobs waiting.");
  depth.set(7);
  depth.dec();
  EXPECT_EQ(depth.value(), 6);

  Histogram latency =
      metrics.histogram("stoa_test_query_duration_seconds", "Query time.", {0.01, 0.1, 1});
  latency.observe(0.05);

  metrics.gauge_callback("stoa_test_pool_size", "Connections in the pool.", [] { return 3.0; });
  metrics.counter_callback("stoa_test_callbacks_total", "A counter read at scrape time.",
                           [] { return 12.0; });

  const std::string text = metrics.expose();
  EXPECT_EQ(sample(text, R"(stoa_test_published_total{topic="orders"})"), 4);
  EXPECT_EQ(sample(text, "stoa_test_queue_depth"), 6);
  EXPECT_EQ(sample(text, R"(stoa_test_query_duration_seconds_bucket{le="0.1"})"), 1);
  EXPECT_EQ(sample(text, "stoa_test_pool_size"), 3);
  EXPECT_EQ(sample(text, "stoa_test_callbacks_total"), 12);
  EXPECT_NE(text.find("# TYPE stoa_test_callbacks_total counter"), std::string::npos);

  Counter unset;  // a default handle ignores updates
  unset.inc();
  EXPECT_EQ(unset.value(), 0);
}

TEST(MetricsTest, RejectsInvalidNamesAndTypeClashes) {
  Metrics metrics;
  EXPECT_THROW(metrics.counter("bad name", "help"), std::invalid_argument);
  EXPECT_THROW(metrics.counter("stoa_ok_total", ""), std::invalid_argument);
  EXPECT_THROW(metrics.gauge("stoa_g", "help", {{"bad-label", "x"}}), std::invalid_argument);
  metrics.gauge("stoa_clash", "A gauge.");
  EXPECT_THROW(metrics.counter("stoa_clash", "Now a counter."), std::invalid_argument);
  EXPECT_THROW(metrics.histogram("stoa_h", "help", {1, 0.5}), std::invalid_argument);
  EXPECT_THROW(metrics.gauge_callback("0bad", "help", [] { return 0.0; }), std::invalid_argument);
}

TEST(MetricsTest, ProcessMetricsArePresentAndSane) {
  bool ok = false;
  const ProcessStats stats = read_process_stats(&ok);
  EXPECT_TRUE(ok);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_GT(stats.start_time_seconds, now - 24 * 3600);
  EXPECT_LE(stats.start_time_seconds, now + 1);
  EXPECT_GT(stats.resident_memory_bytes, 1024 * 1024);
  EXPECT_GE(stats.virtual_memory_bytes, stats.resident_memory_bytes);
  EXPECT_GE(stats.cpu_seconds, 0);
  EXPECT_GE(stats.open_fds, 3);  // stdin, stdout, stderr at least
  EXPECT_GT(stats.max_fds, stats.open_fds);

  // Opening files shows up.
  std::vector<test::TempFile> files(5);
  EXPECT_GE(read_process_stats().open_fds, stats.open_fds + 5);

  const std::string text = Metrics().expose();
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                           "process_start_time_seconds"}) {
    // CPU time may still be 0 ticks in a fresh process; every other value is positive.
    const double value = sample(text, name);
    if (std::string_view(name) == "process_cpu_seconds_total") {
      EXPECT_GE(value, 0) << name << " missing in\n" << text;
    } else {
      EXPECT_GT(value, 0) << name << " missing or zero in\n" << text;
    }
    EXPECT_NE(text.find(std::string("# HELP ") + name + " "), std::string::npos) << name;
  }
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE process_resident_memory_bytes gauge"), std::string::npos);
}

TEST(MetricsTest, EveryMetricHasHelp) {
  Metrics metrics;
  metrics.observe_http_request("gateway", "GET", "/", 200, 0.01);
  metrics.http_active_requests("gateway").inc();
  metrics.http_open_connections("gateway").inc();
  metrics.http_rejected_requests("gateway", 431).inc();
  const std::string text = metrics.expose();
  std::istringstream in(text);
  std::set<std::string> typed;
  std::set<std::string> helped;
  for (std::string line; std::getline(in, line);) {
    // "# TYPE name type" / "# HELP name text"
    const auto name_after = [&line](std::string_view prefix) {
      const std::string rest = line.substr(prefix.size());
      return rest.substr(0, rest.find(' '));
    };
    if (line.rfind("# TYPE ", 0) == 0) typed.insert(name_after("# TYPE "));
    if (line.rfind("# HELP ", 0) == 0 && line.find(' ', 7) != std::string::npos) {
      helped.insert(name_after("# HELP "));
    }
  }
  EXPECT_FALSE(typed.empty());
  EXPECT_EQ(typed, helped);
  EXPECT_EQ(
      sample(
          text,
          R"(stoa_http_server_rejected_requests_total{http_response_status_code="431",stoa_component="gateway"})"),
      1);
  EXPECT_EQ(sample(text, R"(http_server_active_requests{stoa_component="gateway"})"), 1);
  EXPECT_EQ(sample(text, R"(stoa_http_server_open_connections{stoa_component="gateway"})"), 1);
}

TEST(MetricsTest, ExpositionPassesPromtool) {
  Metrics metrics;
  metrics.observe_http_request("gateway", "GET", "/v1/orders/{id}", 200, 0.012);
  metrics.observe_http_request("gateway", "_OTHER", "unmatched", 404, 0.0001);
  metrics.http_active_requests("gateway").inc();
  metrics.http_open_connections("gateway").inc(3);
  metrics.http_rejected_requests("gateway", 413).inc();
  metrics.counter("stoa_test_events_total", "Events.", {{"type", "stoa.order.created.v1"}}).inc();
  metrics
      .gauge("stoa_test_label_escaping", "Label values with quotes and backslashes.",
             {{"value", "a \"quoted\" \\ value\nwith a newline"}})
      .set(1);
  metrics.histogram("stoa_test_size_bytes", "Sizes.", {100, 1000}).observe(500);
  metrics.counter_callback("stoa_log_lines_dropped_total", "Dropped log lines.",
                           [] { return 0.0; });
  expect_promtool_clean(metrics.expose());
}

TEST(MetricsTest, PromtoolWouldCatchABadExposition) {
  // Guards the guard: a lint problem (counter without _total) must be reported.
  int exit_code = -1;
  std::string output;
  if (!promtool_check("# HELP bad_counter A counter.\n# TYPE bad_counter counter\nbad_counter 1\n",
                      exit_code, output)) {
    if (std::getenv("CI") != nullptr) FAIL() << "promtool is not installed";
    GTEST_SKIP() << "promtool not found";
  }
  EXPECT_FALSE(exit_code == 0 && output.empty()) << "promtool accepted a bad exposition";
}

}  // namespace
}  // namespace stoa::obs
