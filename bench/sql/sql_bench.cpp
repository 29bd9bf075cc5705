// bench/sql's load generator: Stoa's SQL driver running the same SQL as bench/sql's pgbench
// scripts, with the same number of clients and threads, over pgbench's tables.
//
//   stoa_bench_sql URL WORKLOAD CLIENTS THREADS SECONDS ACCOUNTS
//     WORKLOAD select: SELECT abalance FROM pgbench_accounts WHERE aid = $1
//              write:  BEGIN; UPDATE pgbench_accounts ...; SELECT abalance ...;
//                      INSERT INTO pgbench_history ...; COMMIT  (a transaction per client loop)
//   prints "transactions=N seconds=S tps=X errors=E p99_ms=L" (L: the 99th percentile of one
//   transaction's latency, as pgbench's per-transaction log gives it for the peer)
//
// Clients are coroutines spread round-robin over THREADS event-loop threads; the pool has
// CLIENTS / THREADS connections per thread, so there is one connection per client as with
// pgbench -c CLIENTS -j THREADS.
#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "data/sql/sql.h"
#include "observability/telemetry.h"
#include "runtime/event_loop.h"

namespace {

using namespace stoa;
using namespace stoa::sql;
using Clock = std::chrono::steady_clock;

constexpr Query kSelect{"bench.select_balance",
                        "SELECT abalance FROM pgbench_accounts WHERE aid = $1"};
constexpr Query kUpdate{"bench.update_balance",
                        "UPDATE pgbench_accounts SET abalance = abalance + $2 WHERE aid = $1"};
constexpr Query kInsert{"bench.insert_history",
                        "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
                        "VALUES (1, 1, $1, $2, CURRENT_TIMESTAMP)"};

struct Counters {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<int> running{0};
  std::mutex mutex;
  std::vector<std::uint32_t> latencies_us;  // every client's, merged when it finishes
};

Awaitable<bool> write_transaction(Database& db, std::int64_t aid, std::int64_t delta) {
  auto tx = co_await db.begin();
  if (!tx) co_return false;
  Params update{aid, delta};
  auto updated = co_await (*tx)->execute(kUpdate, std::move(update));
  if (!updated) co_return false;
  Params select{aid};
  auto selected = co_await (*tx)->execute(kSelect, std::move(select));
  if (!selected) co_return false;
  Params insert{aid, delta};
  auto inserted = co_await (*tx)->execute(kInsert, std::move(insert));
  if (!inserted) co_return false;
  auto committed = co_await (*tx)->commit();
  co_return static_cast<bool>(committed);
}

Awaitable<void> client(std::shared_ptr<Database> db, bool write, std::int64_t accounts,
                       Clock::time_point end, unsigned seed, Counters& counters) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<std::int64_t> pick_account(1, accounts);
  std::uniform_int_distribution<std::int64_t> pick_delta(-5000, 5000);
  std::vector<std::uint32_t> latencies;
  latencies.reserve(1 << 16);
  bool more = true;
  while (more) {
    const auto started = Clock::now();
    const std::int64_t aid = pick_account(random);
    bool ok = false;
    if (write) {
      ok = co_await write_transaction(*db, aid, pick_delta(random));
    } else {
      Params params{aid};
      auto rows = co_await db->execute(kSelect, std::move(params));
      ok = rows && rows->size() == 1;
    }
    (ok ? counters.done : counters.errors).fetch_add(1, std::memory_order_relaxed);
    const auto now = Clock::now();
    latencies.push_back(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - started).count()));
    more = now < end;
  }
  {
    std::lock_guard lock(counters.mutex);
    counters.latencies_us.insert(counters.latencies_us.end(), latencies.begin(), latencies.end());
  }
  counters.running.fetch_sub(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s URL select|write CLIENTS THREADS SECONDS ACCOUNTS\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const std::string workload = argv[2];
  const int clients = std::atoi(argv[3]);
  const int threads = std::atoi(argv[4]);
  const int seconds = std::atoi(argv[5]);
  const std::int64_t accounts = std::atoll(argv[6]);
  if ((workload != "select" && workload != "write") || clients < 1 || threads < 1 || seconds < 1 ||
      accounts < 1) {
    std::fprintf(stderr, "bad arguments\n");
    return 2;
  }
  EventLoop loop(static_cast<std::size_t>(threads));
  DatabaseOptions options;
  options.url = url;
  options.pool_size = static_cast<std::size_t>((clients + threads - 1) / threads);
  // Metrics on, as in a Stoa process (spans only exist under a caller's recording span),
  // unless STOA_BENCH_NO_METRICS is set (to measure what they cost).
  obs::Telemetry telemetry(obs::TracerOptions{}, false);
  const bool metrics = std::getenv("STOA_BENCH_NO_METRICS") == nullptr;
  auto opened = open_database(options, loop, metrics ? &telemetry : nullptr);
  if (!opened) {
    std::fprintf(stderr, "cannot open the database: %s\n", opened.error().message.c_str());
    return 1;
  }
  std::shared_ptr<Database> db = opened.value();
  Counters counters;
  counters.running = clients;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  for (int i = 0; i < clients; ++i) {
    auto& context = loop.context(static_cast<std::size_t>(i % threads));
    boost::asio::co_spawn(context,
                          client(db, workload == "write", accounts, end, 1234u + i, counters),
                          boost::asio::detached);
  }
  std::thread stopper([&] {
    while (counters.running.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    loop.stop();
  });
  loop.run();
  stopper.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  db->close();
  const auto done = counters.done.load();
  auto& latencies = counters.latencies_us;
  double p99_ms = 0;
  if (!latencies.empty()) {
    const auto rank = latencies.begin() + static_cast<std::ptrdiff_t>(latencies.size() * 99 / 100);
    std::nth_element(latencies.begin(), rank, latencies.end());
    p99_ms = *rank / 1000.0;
  }
  std::printf("transactions=%llu seconds=%.3f tps=%.1f errors=%llu p99_ms=%.3f\n",
              static_cast<unsigned long long>(done), elapsed, static_cast<double>(done) / elapsed,
              static_cast<unsigned long long>(counters.errors.load()), p99_ms);
  return counters.errors.load() == 0 ? 0 : 1;
}
