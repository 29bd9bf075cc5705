#include "data/cache/observed_cache.h"

#include <atomic>
#include <chrono>
#include <utility>

#include "observability/metrics.h"

namespace stoa::cache {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class ObservedCache final : public Cache {
 public:
  ObservedCache(std::shared_ptr<Cache> inner, obs::Metrics& metrics)
      : inner_(std::move(inner)), backend_(inner_->backend()) {
    const std::string b = backend_;
    auto ops = [&](const char* op, const char* result) {
      return metrics.counter("cache_operations_total", "Cache operations by result.",
                             {{"stoa_cache_backend", b}, {"operation", op}, {"result", result}});
    };
    auto duration = [&](const char* op) {
      return metrics.histogram("cache_operation_duration_seconds", "Duration of cache operations.",
                               cache_duration_buckets(),
                               {{"stoa_cache_backend", b}, {"operation", op}});
    };
    get_hit_ = ops("get", "hit");
    get_miss_ = ops("get", "miss");
    get_error_ = ops("get", "error");
    set_ok_ = ops("set", "ok");
    erase_ok_ = ops("erase", "ok");
    many_hit_ = ops("get_many", "hit");
    many_miss_ = ops("get_many", "miss");
    get_seconds_ = duration("get");
    set_seconds_ = duration("set");
    erase_seconds_ = duration("erase");
    many_seconds_ = duration("get_many");
    errors_ = metrics.counter("cache_errors_total", "Cache operations the backend failed.",
                              {{"stoa_cache_backend", b}});
    evictions_ = metrics.counter("cache_evictions_total", "Entries the cache evicted.",
                                 {{"stoa_cache_backend", b}});
  }

  Awaitable<std::optional<std::string>> get(std::string key) override {
    Result<std::optional<std::string>> r = co_await try_get(std::move(key));
    if (!r.ok()) co_return std::nullopt;
    co_return std::move(r).value();
  }

  Awaitable<Result<std::optional<std::string>>> try_get(std::string key) override {
    const Clock::time_point start = Clock::now();
    Result<std::optional<std::string>> r = co_await inner_->try_get(std::move(key));
    get_seconds_.observe(seconds_since(start));
    if (!r.ok()) {
      get_error_.inc();
    } else if (r.value()) {
      get_hit_.inc();
    } else {
      get_miss_.inc();
    }
    sync_counters();
    co_return r;
  }

  Awaitable<void> set(std::string key, std::string value, std::chrono::milliseconds ttl) override {
    const Clock::time_point start = Clock::now();
    co_await inner_->set(std::move(key), std::move(value), ttl);
    set_seconds_.observe(seconds_since(start));
    set_ok_.inc();
    sync_counters();
  }

  Awaitable<bool> erase(std::string key) override {
    const Clock::time_point start = Clock::now();
    const bool erased = co_await inner_->erase(std::move(key));
    erase_seconds_.observe(seconds_since(start));
    erase_ok_.inc();
    sync_counters();
    co_return erased;
  }

  Awaitable<std::vector<std::optional<std::string>>> get_many(
      std::vector<std::string> keys) override {
    const Clock::time_point start = Clock::now();
    std::vector<std::optional<std::string>> out = co_await inner_->get_many(std::move(keys));
    many_seconds_.observe(seconds_since(start));
    for (const auto& v : out) (v ? many_hit_ : many_miss_).inc();
    sync_counters();
    co_return out;
  }

  Stats stats() const override { return inner_->stats(); }
  const char* backend() const override { return backend_; }
  Atomics& atomics() override { return inner_->atomics(); }

 private:
  // Errors and evictions happen inside the backend: carry their growth over to the counters,
  // at most every 250 ms (stats() visits every shard of the memory cache).
  void sync_counters() {
    const std::int64_t now = Clock::now().time_since_epoch().count();
    std::int64_t last = last_sync_.load(std::memory_order_relaxed);
    if (now - last < std::chrono::nanoseconds(std::chrono::milliseconds(250)).count()) return;
    if (!last_sync_.compare_exchange_strong(last, now)) return;
    const Stats s = inner_->stats();
    add_growth(errors_, s.errors, seen_errors_);
    add_growth(evictions_, s.evictions, seen_evictions_);
  }

  static void add_growth(obs::Counter& counter, std::uint64_t now,
                         std::atomic<std::uint64_t>& seen) {
    std::uint64_t before = seen.load(std::memory_order_relaxed);
    while (now > before && !seen.compare_exchange_weak(before, now)) {
    }
    if (now > before) counter.inc(static_cast<double>(now - before));
  }

  std::shared_ptr<Cache> inner_;
  const char* backend_;
  obs::Counter get_hit_, get_miss_, get_error_, set_ok_, erase_ok_, many_hit_, many_miss_;
  obs::Histogram get_seconds_, set_seconds_, erase_seconds_, many_seconds_;
  obs::Counter errors_, evictions_;
  std::atomic<std::uint64_t> seen_errors_{0};
  std::atomic<std::uint64_t> seen_evictions_{0};
  std::atomic<std::int64_t> last_sync_{0};
};

}  // namespace

const std::vector<double>& cache_duration_buckets() {
  static const std::vector<double> buckets{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1.0};
  return buckets;
}

std::shared_ptr<Cache> observe_cache(std::shared_ptr<Cache> inner, obs::Metrics& metrics) {
  return std::make_shared<ObservedCache>(std::move(inner), metrics);
}

}  // namespace stoa::cache
