// The driver of `./dev bench cache`. One measurement per run, printed as key=value:
//   stoa_cache_bench redis PORT CONNECTIONS PIPELINE REQUESTS get|set KEYSPACE DATA_SIZE
//       Stoa's Redis client: CONNECTIONS connections, CONNECTIONS x PIPELINE coroutines each
//       with one command in flight (as redis-benchmark -c C -P P keeps C x P in flight), on
//       one thread. Prints rps=…
//   stoa_cache_bench memory SECONDS
//       The in-process cache on one thread: read-through traffic (get, and set on a miss) on a
//       Zipf trace. Prints ops_per_cpu_sec=… (per core), ops_per_sec=… (wall), hit_ratio=…
//   stoa_cache_bench zipf
//       Hit ratio of the in-process cache (S3-FIFO) and of LRU on the same Zipf trace.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "data/cache/memory_cache.h"
#include "data/cache/redis_client.h"
#include "data/cache/zipf_trace.h"

namespace {

using namespace stoa;
using namespace stoa::cache;
using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;

int usage() {
  std::fprintf(stderr,
               "usage: stoa_cache_bench redis PORT CONNECTIONS PIPELINE REQUESTS get|set "
               "KEYSPACE DATA_SIZE\n"
               "       stoa_cache_bench memory SECONDS\n"
               "       stoa_cache_bench zipf\n");
  return 2;
}

// Keys as redis-benchmark -r makes them: "key:" and 12 digits.
std::vector<std::string> make_keys(long keyspace, std::size_t count) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<long> pick(0, keyspace - 1);
  std::vector<std::string> keys;
  keys.reserve(count);
  char buf[32];
  for (std::size_t i = 0; i < count; ++i) {
    std::snprintf(buf, sizeof buf, "key:%012ld", pick(rng));
    keys.emplace_back(buf);
  }
  return keys;
}

int bench_redis(int argc, char** argv) {
  if (argc != 9) return usage();
  RedisOptions options;
  options.port = static_cast<std::uint16_t>(std::atoi(argv[2]));
  const int connections = std::atoi(argv[3]);
  const int pipeline = std::atoi(argv[4]);
  const long requests = std::atol(argv[5]);
  const std::string op = argv[6];
  const long keyspace = std::atol(argv[7]);
  const std::size_t data_size = static_cast<std::size_t>(std::atol(argv[8]));
  if (connections < 1 || pipeline < 1 || requests < 1 || keyspace < 1 ||
      (op != "get" && op != "set")) {
    return usage();
  }
  options.pool_size = static_cast<std::size_t>(connections);
  options.command_timeout = std::chrono::seconds(10);
  options.connect_timeout = std::chrono::seconds(5);

  asio::io_context io(1);
  RedisClient client(options);
  const std::vector<std::string> keys = make_keys(keyspace, 1 << 16);
  const std::string value(data_size, 'x');
  const std::string get = "GET", set = "SET";
  long issued = 0;
  long done = 0;
  long failed = 0;
  std::vector<float> latencies;  // milliseconds, per command
  latencies.reserve(static_cast<std::size_t>(requests));
  Clock::time_point start{}, end{};

  const bool is_get = op == "get";
  const int workers = connections * pipeline;
  auto worker = [&](int id) -> stoa::Awaitable<void> {
    std::size_t k = static_cast<std::size_t>(id) * 7919;
    while (issued < requests) {
      ++issued;
      const std::string& key = keys[k++ & (keys.size() - 1)];
      const Clock::time_point sent = Clock::now();
      // if/else rather than a conditional around co_await (GCC 12).
      bool ok = false;
      if (is_get) {
        Result<RedisReply> r = co_await client.command(get, key);
        ok = r.ok() && !r->is_error();
      } else {
        Result<RedisReply> r = co_await client.command(set, key, value);
        ok = r.ok() && !r->is_error();
      }
      if (!ok) ++failed;
      latencies.push_back(std::chrono::duration<float, std::milli>(Clock::now() - sent).count());
      if (++done == requests) end = Clock::now();
    }
  };
  // Connect every connection first (one PING each), so that connecting is not measured.
  {
    const std::string ping = "PING";
    long pinged = 0;
    for (int i = 0; i < connections; ++i) {
      asio::co_spawn(
          io,
          [&]() -> stoa::Awaitable<void> {
            Result<RedisReply> r = co_await client.command(ping);
            if (!r.ok()) {
              std::fprintf(stderr, "cannot reach Redis: %s\n", r.error().message.c_str());
              std::exit(1);
            }
            if (++pinged == connections) io.stop();
          },
          asio::detached);
    }
    io.run();
    io.restart();
  }
  start = Clock::now();
  for (int i = 0; i < workers; ++i) asio::co_spawn(io, worker(i), asio::detached);
  while (done < requests) io.run_one();
  const double seconds = std::chrono::duration<double>(end - start).count();
  if (failed > 0) {
    std::fprintf(stderr, "%ld of %ld commands failed\n", failed, requests);
    return 1;
  }
  const auto p99 = latencies.begin() + static_cast<long>(latencies.size() * 99 / 100);
  std::nth_element(latencies.begin(), p99, latencies.end());
  std::printf("rps=%.0f p99_ms=%.3f seconds=%.3f writes=%llu\n", double(requests) / seconds,
              static_cast<double>(*p99), seconds,
              static_cast<unsigned long long>(client.stats().writes));
  return 0;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

int bench_memory(int argc, char** argv) {
  if (argc != 3) return usage();
  const double seconds = std::atof(argv[2]);
  constexpr int kKeys = 100'000;
  constexpr std::size_t kValueSize = 100;
  const std::vector<std::string> trace = testing::zipf_trace(kKeys, 1 << 20, 0.99, 11);
  // Room for about a fifth of the keys: evictions happen all the time.
  MemoryCache cache(
      {.max_bytes = (kValueSize + 16 + MemoryCache::kEntryOverhead) * kKeys / 5, .shards = 16});
  const std::string value(kValueSize, 'v');
  long ops = 0;
  long hits = 0;
  long reads = 0;
  const double cpu_start = thread_cpu_seconds();
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  Clock::time_point now = start;
  while (now < stop) {
    for (std::size_t i = 0; i < 65536; ++i) {
      const std::string& key = trace[(reads + i) & (trace.size() - 1)];
      if (cache.get_now(key)) {
        ++hits;
      } else {
        cache.set_now(key, value);
        ++ops;
      }
      ++ops;
    }
    reads += 65536;
    now = Clock::now();
  }
  const double elapsed = std::chrono::duration<double>(now - start).count();
  const double cpu = thread_cpu_seconds() - cpu_start;
  // Per core: operations per second of this thread's CPU time, so that other processes on a
  // busy machine do not count against it (wall-clock rate printed too).
  std::printf("ops_per_cpu_sec=%.0f ops_per_sec=%.0f hit_ratio=%.4f evictions=%llu\n",
              double(ops) / cpu, double(ops) / elapsed, double(hits) / double(reads),
              static_cast<unsigned long long>(cache.stats().evictions));
  return 0;
}

int bench_zipf() {
  constexpr int kKeys = 10'000;
  constexpr std::size_t kValueSize = 100;
  const std::vector<std::string> trace = testing::zipf_trace(kKeys, 1'000'000, 0.99, 42);
  const std::size_t per_entry =
      std::string("key:5000").size() + kValueSize + MemoryCache::kEntryOverhead;
  for (int percent : {1, 5, 10, 20}) {
    const std::size_t budget = per_entry * kKeys * percent / 100;
    const testing::HitRatios r = testing::compare_hit_ratios(trace, kValueSize, budget);
    std::printf("cache_percent=%d memory=%.4f lru=%.4f\n", percent, r.memory, r.lru);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  if (mode == "redis") return bench_redis(argc, argv);
  if (mode == "memory") return bench_memory(argc, argv);
  if (mode == "zipf") return bench_zipf();
  return usage();
}
