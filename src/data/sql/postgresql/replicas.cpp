#include "data/sql/postgresql/replicas.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <limits>

#include "data/sql/postgresql/result.h"
#include "observability/telemetry.h"

namespace stoa::sql::pg {

namespace asio = boost::asio;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr Query kPrimaryPosition{"stoa.replicas.primary_position",
                                 "SELECT pg_current_wal_insert_lsn()::text"};
constexpr Query kReplicaPosition{
    "stoa.replicas.replay_position",
    "SELECT pg_is_in_recovery(), COALESCE(pg_last_wal_replay_lsn()::text, '')"};
// Samples older than this are dropped: a replica behind all of them lags at least this much,
// which is past any sensible max_replica_lag.
constexpr std::size_t kMaxSamples = 4096;

}  // namespace

ReplicaMonitor::ReplicaMonitor(asio::io_context& context, ReplicaMonitorSettings settings,
                               obs::Telemetry* telemetry)
    : context_(context),
      settings_(std::move(settings)),
      telemetry_(telemetry),
      timer_(std::make_shared<asio::steady_timer>(context)) {
  for (std::size_t i = 0; i < settings_.replicas.size(); ++i) {
    states_.push_back(std::make_unique<State>());
  }
  replica_connections_.resize(settings_.replicas.size());
}

ReplicaMonitor::~ReplicaMonitor() = default;

void ReplicaMonitor::start() {
  asio::co_spawn(
      context_, [self = shared_from_this()]() { return self->run(); }, asio::detached);
}

void ReplicaMonitor::stop() {
  if (stopped_.exchange(true)) return;
  // The timer belongs to the monitor's thread: cancel it there.
  asio::post(context_, [timer = timer_] { timer->cancel(); });
}

std::optional<std::size_t> ReplicaMonitor::pick(std::optional<std::uint64_t> replayed) {
  const std::size_t count = states_.size();
  if (count == 0) return std::nullopt;
  const std::size_t start = next_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t k = 0; k < count; ++k) {
    const std::size_t i = (start + k) % count;
    const State& state = *states_[i];
    if (!state.healthy.load(std::memory_order_relaxed)) continue;
    if (state.lag_ms.load(std::memory_order_relaxed) > settings_.max_lag.count()) continue;
    if (replayed && state.replay_lsn.load(std::memory_order_relaxed) < *replayed) continue;
    return i;
  }
  return std::nullopt;
}

Awaitable<void> ReplicaMonitor::run() {
  auto self = shared_from_this();  // the coroutine keeps the monitor alive
  bool running = true;
  while (running) {
    if (stopped_.load()) break;
    try {
      co_await check_all();
    } catch (const std::exception&) {
      // A check that threw leaves the states as they were; the next round tries again.
    }
    if (stopped_.load()) break;
    timer_->expires_after(settings_.interval);
    auto [ec] = co_await timer_->async_wait(kNoThrow);
    (void)ec;
    running = !stopped_.load();
  }
  primary_connection_.reset();
  for (auto& connection : replica_connections_) connection.reset();
}

Awaitable<Result<Rows>> ReplicaMonitor::query(std::unique_ptr<Connection>& connection,
                                              const ConnectSettings& settings, Query query) {
  const auto deadline = Clock::now() + settings_.connect_timeout;
  if (connection && connection->broken()) connection.reset();
  if (!connection) {
    auto opened = co_await Connection::open(context_, settings, deadline);
    if (!opened) co_return opened.error();
    connection = std::move(opened).value();
  }
  auto rows = co_await connection->execute(query, {}, deadline);
  if (!rows || rows->size() != 1) {
    if (connection->broken()) connection.reset();
    if (!rows) co_return rows.error();
    co_return Error{Errc::protocol, "expected one row"};
  }
  co_return rows;
}

Awaitable<void> ReplicaMonitor::check_all() {
  const auto sampled_at = Clock::now();
  auto primary = co_await query(primary_connection_, settings_.primary, kPrimaryPosition);
  if (primary) {
    if (auto lsn = parse_lsn(primary->at(0, 0).text())) {
      samples_.push_back(Sample{sampled_at, *lsn});
    }
  }
  for (std::size_t i = 0; i < states_.size(); ++i) {
    State& state = *states_[i];
    auto replica = co_await query(replica_connections_[i], settings_.replicas[i], kReplicaPosition);
    std::optional<std::uint64_t> replay;
    if (replica && replica->at(0, 0).boolean()) replay = parse_lsn(replica->at(0, 1).text());
    if (!replay) {
      // Down, or not a standby (promoted, or misconfigured): not a replica to read from.
      state.healthy.store(false);
      continue;
    }
    const auto now = Clock::now();
    std::int64_t lag = 0;
    for (const Sample& sample : samples_) {
      if (sample.lsn > *replay) {
        lag = std::chrono::duration_cast<std::chrono::milliseconds>(now - sample.time).count();
        break;
      }
    }
    state.replay_lsn.store(*replay);
    state.lag_ms.store(lag);
    state.healthy.store(true);
  }
  // Keep the samples that some replica may still be behind, within bounds.
  const auto horizon =
      Clock::now() - std::max(settings_.max_lag * 4, std::chrono::milliseconds(10'000));
  std::uint64_t slowest = std::numeric_limits<std::uint64_t>::max();
  // Down replicas count with their last known position: they need the history on return.
  for (const auto& state : states_) slowest = std::min(slowest, state->replay_lsn.load());
  std::size_t drop = 0;
  // A sample is still needed while a replica has not replayed it; the newest is always kept.
  while (drop + 1 < samples_.size() &&
         (samples_[drop].lsn <= slowest || samples_[drop].time < horizon ||
          samples_.size() - drop > kMaxSamples)) {
    ++drop;
  }
  samples_.erase(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(drop));
  if (telemetry_ != nullptr) {
    for (std::size_t i = 0; i < states_.size(); ++i) {
      obs::Labels labels{{"stoa_db_replica", std::to_string(i + 1)}};
      auto& metrics = telemetry_->metrics();
      metrics
          .gauge("db_client_replica_healthy", "1 when the replica answers and is in recovery.",
                 labels)
          .set(states_[i]->healthy.load() ? 1.0 : 0.0);
      metrics
          .gauge("db_client_replica_lag_seconds",
                 "How far the replica's replay is behind the primary, in seconds.", labels)
          .set(static_cast<double>(states_[i]->lag_ms.load()) / 1000.0);
    }
  }
}

}  // namespace stoa::sql::pg
