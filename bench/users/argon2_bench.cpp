// bench/users' peer: the physical limit of registration, i.e. how many argon2id hashes per
// second this machine makes with the user service's own hashing function and parameters, on
// as many threads as the service's worker pool has.
//
//   stoa_bench_argon2 SECONDS
//   prints "hashes=N seconds=S rate=X threads=T m=KiB t=T p=P p99_ms=L"
//
// The parameters come from the same configuration the service reads (embedded defaults, then
// the STOA_* environment): user.password_memory_bytes/_iterations/_parallelism and
// process.worker_threads (0: one per core, as the worker pool resolves it).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/config.h"
#include "services/user/password.h"

namespace {

using Clock = std::chrono::steady_clock;

int fail(const std::string& message) {
  std::fprintf(stderr, "stoa_bench_argon2: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: stoa_bench_argon2 SECONDS");
  const int seconds = std::atoi(argv[1]);
  if (seconds < 1) return fail("SECONDS must be a positive integer");
  auto config = stoa::Config::load("", stoa::process_environment());
  if (!config) return fail(config.error().message);

  stoa::user::PasswordParams params;
  params.memory_kib =
      static_cast<std::uint32_t>(config->bytes("user.password_memory_bytes") / 1024);
  params.iterations = static_cast<std::uint32_t>(config->integer("user.password_iterations"));
  params.parallelism = static_cast<std::uint32_t>(config->integer("user.password_parallelism"));
  auto threads = static_cast<unsigned>(config->integer("process.worker_threads"));
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());

  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(seconds);
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<double> mine;
      for (std::size_t i = 0; Clock::now() < deadline && !failed; ++i) {
        const auto before = Clock::now();
        auto hashed = stoa::user::hash_password(
            "bench password " + std::to_string(t) + "-" + std::to_string(i), params);
        if (!hashed) {
          std::fprintf(stderr, "stoa_bench_argon2: %s\n", hashed.error().message.c_str());
          failed = true;
          return;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count());
      }
      std::lock_guard lock(mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& w : workers) w.join();
  if (failed) return 1;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double p99 =
      latencies_ms.empty()
          ? 0
          : latencies_ms[std::min(latencies_ms.size() - 1, latencies_ms.size() * 99 / 100)];
  std::printf("hashes=%zu seconds=%.3f rate=%.1f threads=%u m=%u t=%u p=%u p99_ms=%.3f\n",
              latencies_ms.size(), elapsed, static_cast<double>(latencies_ms.size()) / elapsed,
              threads, params.memory_kib, params.iterations, params.parallelism, p99);
  return 0;
}
