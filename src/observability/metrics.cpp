#include "observability/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace stoa::obs {

// --- handles ---------------------------------------------------------------------------------

void Counter::inc(double amount) {
  if (counter_ != nullptr && amount >= 0) counter_->Increment(amount);
}
double Counter::value() const {
  return counter_ != nullptr ? counter_->Value() : 0.0;
}

void Gauge::inc(double amount) {
  if (gauge_ != nullptr) gauge_->Increment(amount);
}
void Gauge::dec(double amount) {
  if (gauge_ != nullptr) gauge_->Decrement(amount);
}
void Gauge::set(double value) {
  if (gauge_ != nullptr) gauge_->Set(value);
}
double Gauge::value() const {
  return gauge_ != nullptr ? gauge_->Value() : 0.0;
}

void Histogram::observe(double value) {
  if (histogram_ != nullptr) histogram_->Observe(value);
}

const std::vector<double>& http_duration_buckets() {
  static const std::vector<double> buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                           0.05,   0.075, 0.1,    0.25,  0.5,  0.75,
                                           1,      2.5,   5,      7.5,   10};
  return buckets;
}

// --- process statistics ----------------------------------------------------------------------

namespace {

std::string read_small_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto result = std::from_chars(text.data(), text.data() + text.size(), out);
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}

// Seconds since the epoch at which the system booted (/proc/stat btime).
std::optional<double> boot_time_seconds() {
  const std::string stat = read_small_file("/proc/stat");
  const auto at = stat.find("\nbtime ");
  if (at == std::string::npos) return std::nullopt;
  const auto start = at + 7;
  const auto end = stat.find('\n', start);
  std::uint64_t value = 0;
  if (!parse_number(std::string_view(stat).substr(start, end - start), value)) return std::nullopt;
  return static_cast<double>(value);
}

}  // namespace

ProcessStats read_process_stats(bool* ok) {
  ProcessStats stats;
  bool all = true;
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const double page_size = static_cast<double>(sysconf(_SC_PAGESIZE));

  // /proc/self/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so
  // fields are counted from the last ')'. Field numbers below are proc(5)'s.
  const std::string stat = read_small_file("/proc/self/stat");
  const auto close = stat.rfind(')');
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  if (close != std::string::npos) {
    std::string_view rest = std::string_view(stat).substr(close + 1);
    while (!rest.empty()) {
      const auto begin = rest.find_first_not_of(" \n");
      if (begin == std::string_view::npos) break;
      rest.remove_prefix(begin);
      const auto end = rest.find_first_of(" \n");
      fields.push_back(rest.substr(0, end));
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end);
    }
  }
  const auto field = [&](std::size_t number, std::uint64_t& out) {
    return number >= 3 && number - 3 < fields.size() && parse_number(fields[number - 3], out);
  };
  std::uint64_t utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss = 0;
  if (field(14, utime) && field(15, stime) && field(22, start_ticks) && field(23, vsize) &&
      field(24, rss) && ticks > 0) {
    stats.cpu_seconds = static_cast<double>(utime + stime) / ticks;
    stats.virtual_memory_bytes = static_cast<double>(vsize);
    stats.resident_memory_bytes = static_cast<double>(rss) * page_size;
    static const std::optional<double> boot = boot_time_seconds();
    if (boot) {
      stats.start_time_seconds = *boot + static_cast<double>(start_ticks) / ticks;
    } else {
      all = false;
    }
  } else {
    all = false;
  }

  if (DIR* dir = opendir("/proc/self/fd")) {
    std::size_t count = 0;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    closedir(dir);
    stats.open_fds = static_cast<double>(count > 0 ? count - 1 : 0);  // minus the DIR's own fd
  } else {
    all = false;
  }

  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats.max_fds = limit.rlim_cur == RLIM_INFINITY ? 0.0 : static_cast<double>(limit.rlim_cur);
  } else {
    all = false;
  }
  if (ok != nullptr) *ok = all;
  return stats;
}

// --- Metrics ----------------------------------------------------------------------------------

namespace {

std::atomic<std::uint64_t> next_metrics_id{1};

struct HistogramKey {
  std::string component;
  std::string method;
  std::string route;
  int status = 0;
};
struct HistogramKeyView {
  std::string_view component;
  std::string_view method;
  std::string_view route;
  int status = 0;
};

std::size_t hash_key(std::string_view component, std::string_view method, std::string_view route,
                     int status) {
  std::size_t h = std::hash<std::string_view>{}(route);
  h = h * 31 + std::hash<std::string_view>{}(method);
  h = h * 31 + std::hash<std::string_view>{}(component);
  return h * 31 + static_cast<std::size_t>(status);
}

struct HistogramKeyHash {
  using is_transparent = void;
  std::size_t operator()(const HistogramKey& k) const {
    return hash_key(k.component, k.method, k.route, k.status);
  }
  std::size_t operator()(const HistogramKeyView& k) const {
    return hash_key(k.component, k.method, k.route, k.status);
  }
};

struct HistogramKeyEqual {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return a.status == b.status && std::string_view(a.route) == std::string_view(b.route) &&
           std::string_view(a.method) == std::string_view(b.method) &&
           std::string_view(a.component) == std::string_view(b.component);
  }
};

// Per thread: label set -> series, for the Metrics object `owner` (ids are never reused, so
// a cache left over from a destroyed Metrics is recognised and dropped).
struct HistogramCache {
  std::uint64_t owner = 0;
  std::unordered_map<HistogramKey, prometheus::Histogram*, HistogramKeyHash, HistogramKeyEqual>
      series;
};
thread_local HistogramCache histogram_cache;
constexpr std::size_t kMaxCachedSeries = 8192;

prometheus::Labels to_prometheus(const Labels& labels) {
  prometheus::Labels out;
  for (const auto& [name, value] : labels) out.emplace(name, value);
  return out;
}

struct CallbackMetric {
  std::string name;
  std::string help;
  prometheus::MetricType type;
  std::function<double()> read;
};

prometheus::MetricFamily single_value_family(std::string name, std::string help,
                                             prometheus::MetricType type, double value) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

}  // namespace

struct Metrics::Impl {
  std::uint64_t id = next_metrics_id.fetch_add(1);
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Histogram>* request_duration = nullptr;
  prometheus::Family<prometheus::Gauge>* active_requests = nullptr;
  prometheus::Family<prometheus::Gauge>* open_connections = nullptr;
  prometheus::Family<prometheus::Counter>* rejected_requests = nullptr;

  mutable std::mutex callbacks_mutex;
  std::vector<CallbackMetric> callbacks;

  prometheus::Histogram& request_series(std::string_view component, std::string_view method,
                                        std::string_view route, int status) {
    const std::string status_text = std::to_string(status);
    return request_duration->Add({{"http_request_method", std::string(method)},
                                  {"http_route", std::string(route)},
                                  {"http_response_status_code", status_text},
                                  {"stoa_component", std::string(component)}},
                                 http_duration_buckets());
  }

  void add_callback(std::string_view name, std::string_view help, prometheus::MetricType type,
                    std::function<double()> read) {
    if (help.empty()) throw std::invalid_argument("metric " + std::string(name) + " needs help");
    // Validate the name the way the registry would, by building a throwaway family.
    prometheus::Family<prometheus::Counter> check{std::string(name), std::string(help), {}};
    std::lock_guard lock(callbacks_mutex);
    for (auto& existing : callbacks) {
      if (existing.name == name) {
        existing = CallbackMetric{std::string(name), std::string(help), type, std::move(read)};
        return;
      }
    }
    callbacks.push_back(
        CallbackMetric{std::string(name), std::string(help), type, std::move(read)});
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {
  auto& registry = *impl_->registry;
  impl_->request_duration = &prometheus::BuildHistogram()
                                 .Name("http_server_request_duration_seconds")
                                 .Help("Duration of HTTP server requests.")
                                 .Register(registry);
  impl_->active_requests = &prometheus::BuildGauge()
                                .Name("http_server_active_requests")
                                .Help("Number of active HTTP server requests.")
                                .Register(registry);
  impl_->open_connections = &prometheus::BuildGauge()
                                 .Name("stoa_http_server_open_connections")
                                 .Help("Number of open HTTP server connections.")
                                 .Register(registry);
  impl_->rejected_requests =
      &prometheus::BuildCounter()
           .Name("stoa_http_server_rejected_requests_total")
           .Help("HTTP requests refused before routing (malformed, too large, too slow).")
           .Register(registry);
}

Metrics::~Metrics() = default;

Counter Metrics::counter(std::string_view name, std::string_view help, const Labels& labels) {
  if (help.empty()) throw std::invalid_argument("metric " + std::string(name) + " needs help");
  auto& family = prometheus::BuildCounter()
                     .Name(std::string(name))
                     .Help(std::string(help))
                     .Register(*impl_->registry);
  return Counter(&family.Add(to_prometheus(labels)));
}

Gauge Metrics::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  if (help.empty()) throw std::invalid_argument("metric " + std::string(name) + " needs help");
  auto& family = prometheus::BuildGauge()
                     .Name(std::string(name))
                     .Help(std::string(help))
                     .Register(*impl_->registry);
  return Gauge(&family.Add(to_prometheus(labels)));
}

Histogram Metrics::histogram(std::string_view name, std::string_view help,
                             const std::vector<double>& buckets, const Labels& labels) {
  if (help.empty()) throw std::invalid_argument("metric " + std::string(name) + " needs help");
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    if (!(buckets[i - 1] < buckets[i])) {
      throw std::invalid_argument("histogram " + std::string(name) + ": buckets must increase");
    }
  }
  auto& family = prometheus::BuildHistogram()
                     .Name(std::string(name))
                     .Help(std::string(help))
                     .Register(*impl_->registry);
  return Histogram(&family.Add(to_prometheus(labels), buckets));
}

void Metrics::counter_callback(std::string_view name, std::string_view help,
                               std::function<double()> read) {
  impl_->add_callback(name, help, prometheus::MetricType::Counter, std::move(read));
}

void Metrics::gauge_callback(std::string_view name, std::string_view help,
                             std::function<double()> read) {
  impl_->add_callback(name, help, prometheus::MetricType::Gauge, std::move(read));
}

void Metrics::observe_http_request(std::string_view component, std::string_view method,
                                   std::string_view route, int status, double seconds) {
  HistogramCache& cache = histogram_cache;
  if (cache.owner != impl_->id || cache.series.size() >= kMaxCachedSeries) {
    cache.series.clear();
    cache.owner = impl_->id;
  }
  const HistogramKeyView key{component, method, route, status};
  auto found = cache.series.find(key);
  if (found == cache.series.end()) {
    prometheus::Histogram* series = &impl_->request_series(component, method, route, status);
    found = cache.series
                .emplace(HistogramKey{std::string(component), std::string(method),
                                      std::string(route), status},
                         series)
                .first;
  }
  found->second->Observe(seconds);
}

Gauge Metrics::http_active_requests(std::string_view component) {
  return Gauge(&impl_->active_requests->Add({{"stoa_component", std::string(component)}}));
}

Gauge Metrics::http_open_connections(std::string_view component) {
  return Gauge(&impl_->open_connections->Add({{"stoa_component", std::string(component)}}));
}

Counter Metrics::http_rejected_requests(std::string_view component, int status) {
  return Counter(
      &impl_->rejected_requests->Add({{"stoa_component", std::string(component)},
                                      {"http_response_status_code", std::to_string(status)}}));
}

std::string Metrics::expose() const {
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();

  {
    std::lock_guard lock(impl_->callbacks_mutex);
    for (const auto& callback : impl_->callbacks) {
      families.push_back(
          single_value_family(callback.name, callback.help, callback.type, callback.read()));
    }
  }

  const ProcessStats process = read_process_stats();
  using prometheus::MetricType;
  families.push_back(single_value_family("process_cpu_seconds_total",
                                         "Total user and system CPU time spent in seconds.",
                                         MetricType::Counter, process.cpu_seconds));
  families.push_back(single_value_family("process_resident_memory_bytes",
                                         "Resident memory size in bytes.", MetricType::Gauge,
                                         process.resident_memory_bytes));
  families.push_back(single_value_family("process_virtual_memory_bytes",
                                         "Virtual memory size in bytes.", MetricType::Gauge,
                                         process.virtual_memory_bytes));
  families.push_back(single_value_family("process_open_fds", "Number of open file descriptors.",
                                         MetricType::Gauge, process.open_fds));
  families.push_back(single_value_family("process_max_fds",
                                         "Maximum number of open file descriptors.",
                                         MetricType::Gauge, process.max_fds));
  families.push_back(single_value_family("process_start_time_seconds",
                                         "Start time of the process since unix epoch in seconds.",
                                         MetricType::Gauge, process.start_time_seconds));

  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace stoa::obs
