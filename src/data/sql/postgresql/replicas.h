#pragma once
// Watches the read replicas in the background and says which may serve a read.
//
// Every replica_check_interval one coroutine (on the loop's first io_context) samples the
// primary's WAL insert position and asks each replica `pg_is_in_recovery()` and
// `pg_last_wal_replay_lsn()`. A replica is healthy when it answers and is in recovery.
//
// Lag is measured against the primary's history, not the clock of the last replayed
// transaction: the monitor keeps (time, primary LSN) samples, and a replica's lag is the age
// of the oldest sample it has not replayed yet (0 when it has replayed them all). So an idle
// but caught-up replica has no lag (now() - pg_last_xact_replay_timestamp() would grow
// forever there), and a replica whose replay is stuck lags from the moment the primary
// wrote past it. The measure is up to one check interval coarse.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "data/sql/postgresql/connection.h"

namespace stoa::obs {
class Telemetry;
}

namespace stoa::sql::pg {

struct ReplicaMonitorSettings {
  ConnectSettings primary;
  std::vector<ConnectSettings> replicas;
  std::chrono::milliseconds interval{1'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds max_lag{1'000};
};

class ReplicaMonitor : public std::enable_shared_from_this<ReplicaMonitor> {
 public:
  ReplicaMonitor(boost::asio::io_context& context, ReplicaMonitorSettings settings,
                 obs::Telemetry* telemetry);
  ~ReplicaMonitor();

  // Starts the checks (the first runs at once). stop() ends them; both thread-safe.
  void start();
  void stop();

  // A replica fit to serve a read now (healthy, lag within max_lag), round-robin; when
  // `replayed` is set, only one known to have replayed that LSN. nullopt: none.
  std::optional<std::size_t> pick(std::optional<std::uint64_t> replayed = std::nullopt);
  std::size_t size() const { return states_.size(); }

 private:
  struct State {
    std::atomic<bool> healthy{false};
    std::atomic<std::uint64_t> replay_lsn{0};
    std::atomic<std::int64_t> lag_ms{0};
  };
  struct Sample {
    Clock::time_point time;
    std::uint64_t lsn;
  };

  Awaitable<void> run();
  Awaitable<void> check_all();
  // The first column of a one-row query on the monitor's own connection to `settings`.
  Awaitable<Result<Rows>> query(std::unique_ptr<Connection>& connection,
                                const ConnectSettings& settings, Query query);

  boost::asio::io_context& context_;
  const ReplicaMonitorSettings settings_;
  obs::Telemetry* telemetry_;
  std::vector<std::unique_ptr<State>> states_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> stopped_{false};
  std::shared_ptr<boost::asio::steady_timer> timer_;
  // Touched by the monitor's coroutine only.
  std::unique_ptr<Connection> primary_connection_;
  std::vector<std::unique_ptr<Connection>> replica_connections_;
  std::vector<Sample> samples_;
};

}  // namespace stoa::sql::pg
