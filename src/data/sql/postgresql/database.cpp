// The PostgreSQL driver (postgresql:// and postgres://): a pool per event-loop thread and
// server, replica reads with fallback to the primary, read-your-writes by commit LSN, and
// telemetry for every statement. docs/data-sql-postgresql.md explains the choices.
#include <libpq-fe.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <mutex>
#include <unordered_map>

#include "data/sql/driver.h"
#include "data/sql/postgresql/pool.h"
#include "data/sql/postgresql/replicas.h"
#include "data/sql/postgresql/result.h"
#include "data/sql/query_telemetry.h"
#include "observability/telemetry.h"
#include "runtime/backend_url.h"
#include "runtime/event_loop.h"

namespace stoa::sql::pg {

namespace asio = boost::asio;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr Query kReplayedPosition{"stoa.replicas.replayed",
                                  "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn"};
constexpr Query kCommit{"stoa.commit", "COMMIT"};
// How often a read-your-writes read asks a replica whether it has replayed the commit yet.
constexpr std::chrono::milliseconds kFreshPoll{5};
// ROLLBACK of an abandoned transaction: short, it only ends the transaction.
constexpr std::chrono::milliseconds kRollbackTimeout{5'000};

// An exception that escaped a coroutine (Asio throws operation_aborted into a coroutine
// whose caller cancelled it) as an Error.
Error error_from_exception(const std::exception& e) {
  if (const auto* system = dynamic_cast<const boost::system::system_error*>(&e)) {
    if (system->code() == asio::error::operation_aborted) {
      return Error{Errc::cancelled, "the database call was cancelled"};
    }
  }
  return Error{Errc::internal, std::string("PostgreSQL driver: ") + e.what()};
}

std::uint64_t row_count(const Rows& rows) {
  return rows.empty() ? rows.affected() : rows.size();
}

// Connections to one server (the primary or a replica), a pool per io_context.
class Server {
 public:
  explicit Server(PoolSettings settings) : settings_(std::move(settings)) {}

  std::shared_ptr<Pool> pool(asio::io_context& context) {
    std::lock_guard lock(mutex_);
    auto& pool = pools_[&context];
    if (!pool) pool = std::make_shared<Pool>(context, settings_);
    return pool;
  }

  void close() {
    std::unordered_map<asio::io_context*, std::shared_ptr<Pool>> pools;
    {
      std::lock_guard lock(mutex_);
      pools.swap(pools_);
    }
    for (auto& [context, pool] : pools) pool->close();
  }

 private:
  const PoolSettings settings_;
  std::mutex mutex_;
  std::unordered_map<asio::io_context*, std::shared_ptr<Pool>> pools_;
};

// The io_context of the calling coroutine: every Stoa coroutine runs on one of the
// EventLoop's io_contexts.
Awaitable<asio::io_context*> current_context() {
  auto executor = co_await asio::this_coro::executor;
  auto& context = asio::query(executor, asio::execution::context);
  co_return &static_cast<asio::io_context&>(context);
}

std::shared_ptr<Pool> pool_for(Server& server, const asio::any_io_executor& executor) {
  return server.pool(
      static_cast<asio::io_context&>(asio::query(executor, asio::execution::context)));
}

// A connection to `server` from the calling thread's pool.
Awaitable<Result<Lease>> checkout(Server& server, Clock::time_point deadline) {
  auto pool = pool_for(server, co_await asio::this_coro::executor);
  if (Lease idle = pool->try_acquire()) co_return idle;
  co_return co_await pool->acquire(deadline);
}

struct Shared {
  DatabaseOptions options;
  std::unique_ptr<Server> primary;
  std::vector<std::unique_ptr<Server>> replicas;
  std::shared_ptr<ReplicaMonitor> monitor;
  std::unique_ptr<QueryTelemetry> telemetry;
  obs::Counter fallback_no_replica;
  obs::Counter fallback_not_fresh;
  obs::Counter fallback_replica_failed;
};

class PgTransaction final : public Transaction {
 public:
  // `begin_sql` is sent with the first statement (not before: a round trip saved).
  PgTransaction(std::shared_ptr<Shared> shared, Lease lease, Clock::time_point deadline,
                const TraceContext* trace, std::string begin_sql)
      : shared_(std::move(shared)),
        lease_(std::move(lease)),
        deadline_(deadline),
        trace_(trace),
        begin_sql_(std::move(begin_sql)) {}

  ~PgTransaction() override {
    if (done_ || !lease_.pool()) return;
    if (!begin_sql_.empty()) return;  // nothing was sent: the connection goes back as it is
    if (lease_->broken()) {
      lease_.discard();
      return;
    }
    // Destroyed without commit(): roll back without blocking, then return the connection.
    auto pool = lease_.pool();
    std::unique_ptr<Connection> connection = lease_.take();
    asio::io_context& context = connection->context();  // before the lambda takes it
    asio::co_spawn(
        context,
        [pool, connection = std::move(connection)]() mutable -> Awaitable<void> {
          const std::string rollback = "ROLLBACK";
          (void)co_await connection->simple(rollback, Clock::now() + kRollbackTimeout, rollback);
          pool->give_back(std::move(connection));
        },
        asio::detached);
  }

  Awaitable<Result<Rows>> execute(Query query, Params params) override {
    auto scope = shared_->telemetry->start(query.name, query.sql, Target::primary, trace_);
    Result<Rows> result = Error{Errc::internal, ""};
    try {
      result = co_await run(query, params);
    } catch (const std::exception& e) {
      result = error_from_exception(e);
    }
    scope.finish(result ? nullptr : &result.error(), result ? row_count(*result) : 0);
    co_return result;
  }

  Awaitable<Result<CommitToken>> commit() override {
    const std::string name = "commit";
    auto scope = shared_->telemetry->start(name, name, Target::primary, trace_);
    Result<CommitToken> result = Error{Errc::internal, ""};
    try {
      result = co_await finish_commit();
    } catch (const std::exception& e) {
      result = error_from_exception(e);
    }
    scope.finish(result ? nullptr : &result.error(), 0);
    co_return result;
  }

  Awaitable<Status> rollback() override {
    const std::string name = "rollback";
    auto scope = shared_->telemetry->start(name, name, Target::primary, trace_);
    Status result = Ok{};
    try {
      if (!done_ && !begin_sql_.empty()) {
        done_ = true;  // nothing was sent: nothing to roll back
        lease_ = Lease();
      } else if (!done_) {
        done_ = true;
        const std::string sql = "ROLLBACK";
        auto rolled = co_await lease_->simple(sql, deadline_, name);
        if (!rolled) result = rolled.error();
        lease_ = Lease();
      }
    } catch (const std::exception& e) {
      result = error_from_exception(e);
    }
    scope.finish(result ? nullptr : &result.error(), 0);
    co_return result;
  }

 private:
  Awaitable<Result<Rows>> run(Query query, const Params& params) {
    if (done_) co_return Error{Errc::invalid_argument, "the transaction has ended"};
    if (failed_) {
      co_return Error{failed_->code, "the transaction failed earlier: " + failed_->message};
    }
    Result<Rows> result = Error{Errc::internal, ""};
    if (!begin_sql_.empty()) {
      // BEGIN has not been sent yet: it goes in one pipeline with this first statement.
      std::vector<std::pair<Query, Params>> first{{query, params}};
      const std::string begin_sql = std::exchange(begin_sql_, std::string());
      auto results = co_await lease_->pipeline(first, deadline_, begin_sql);
      if (results) {
        result = std::move(results->front());
      } else {
        result = results.error();
      }
    } else {
      result = co_await lease_->execute(query, params, deadline_);
    }
    if (!result) failed_ = result.error();  // PostgreSQL aborts the transaction on an error
    co_return result;
  }

  Awaitable<Result<CommitToken>> finish_commit() {
    if (done_) co_return Error{Errc::invalid_argument, "the transaction has ended"};
    done_ = true;
    if (failed_) {
      const std::string sql = "ROLLBACK";
      auto rolled = co_await lease_->simple(sql, deadline_, sql);
      (void)rolled;
      lease_ = Lease();
      co_return Error{failed_->code, "not committed: " + failed_->message};
    }
    // The position after COMMIT is at or past the commit record: a replica that has
    // replayed up to it has the transaction. (No statement ran: BEGIN was never sent, and
    // there is nothing to commit but the position to report.)
    const std::string sql = begin_sql_.empty()
                                ? "COMMIT; SELECT pg_current_wal_insert_lsn()::text"
                                : "SELECT 1; SELECT pg_current_wal_insert_lsn()::text";
    const std::string name = "commit";
    auto results = co_await lease_->simple(sql, deadline_, name);
    lease_ = Lease();
    if (!results) co_return results.error();
    if (results->size() != 2 || results->at(1).size() != 1) {
      co_return Error{Errc::protocol, "COMMIT did not report a WAL position"};
    }
    co_return CommitToken{results->at(1).at(0, 0).text()};
  }

  std::shared_ptr<Shared> shared_;
  Lease lease_;
  Clock::time_point deadline_;
  const TraceContext* trace_;
  bool done_ = false;
  std::optional<Error> failed_;
  std::string begin_sql_;  // until the first statement carries it
};

// Coroutines in flight hold the database (shared_from_this), so destroying the last other
// reference while a call runs cannot pull it from under them.
class PgDatabase final : public Database, public std::enable_shared_from_this<PgDatabase> {
 public:
  explicit PgDatabase(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  ~PgDatabase() override { close(); }

  Dialect dialect() const override { return Dialect::postgresql; }

  Awaitable<Result<Rows>> execute(Query query, Params params, Options options) override {
    auto self = shared_from_this();
    auto scope = shared_->telemetry->start(query.name, query.sql, options.target, options.trace);
    Result<Rows> result = Error{Errc::internal, ""};
    try {
      result = co_await route(query, params, options);
    } catch (const std::exception& e) {
      result = error_from_exception(e);
    }
    scope.finish(result ? nullptr : &result.error(), result ? row_count(*result) : 0);
    co_return result;
  }

  Awaitable<Result<std::vector<Rows>>> batch(std::vector<std::pair<Query, Params>> statements,
                                             Options options) override {
    auto self = shared_from_this();
    const std::string name = "batch";
    auto scope = shared_->telemetry->start(name, name, Target::primary, options.trace);
    Result<std::vector<Rows>> result = Error{Errc::internal, ""};
    try {
      if (statements.empty()) {
        result = std::vector<Rows>{};
      } else {
        const auto deadline = deadline_for(options.timeout);
        auto lease = co_await checkout(*shared_->primary, deadline);
        if (!lease) {
          result = lease.error();
        } else {
          result = co_await (*lease)->pipeline(statements, deadline);
        }
      }
    } catch (const std::exception& e) {
      result = error_from_exception(e);
    }
    scope.finish(result ? nullptr : &result.error(), result ? result->size() : 0);
    co_return result;
  }

  Awaitable<Result<std::unique_ptr<Transaction>>> begin(TransactionOptions options) override {
    auto self = shared_from_this();
    const std::string name = "begin";
    auto scope = shared_->telemetry->start(name, name, Target::primary, options.trace);
    Result<std::unique_ptr<Transaction>> result = Error{Errc::internal, ""};
    try {
      result = co_await open_transaction(options);
    } catch (const std::exception& e) {
      result = error_from_exception(e);
    }
    scope.finish(result ? nullptr : &result.error(), 0);
    co_return result;
  }

  Awaitable<Status> ping() override {
    const Query query{"stoa.ping", "SELECT 1"};
    auto rows = co_await execute(query, {}, Options{});
    if (!rows) co_return rows.error();
    co_return Ok{};
  }

  void close() override {
    if (closed_.exchange(true)) return;
    if (shared_->monitor) shared_->monitor->stop();
    shared_->primary->close();
    for (auto& replica : shared_->replicas) replica->close();
  }

 private:
  Clock::time_point deadline_for(std::chrono::milliseconds timeout) const {
    // A call may ask for less than the server-side statement_timeout, not more.
    auto bound = shared_->options.statement_timeout;
    if (timeout.count() > 0) bound = std::min(bound, timeout);
    return Clock::now() + bound;
  }

  Awaitable<Result<Rows>> run_on(Server& server, Query query, const Params& params,
                                 Clock::time_point deadline) {
    // An idle connection without checkout()'s coroutine: the common case, on every statement.
    auto pool = pool_for(server, co_await asio::this_coro::executor);
    Lease lease = pool->try_acquire();
    if (!lease) {
      auto acquired = co_await pool->acquire(deadline);
      if (!acquired) co_return acquired.error();
      lease = std::move(acquired).value();
    }
    co_return co_await lease->execute(query, params, deadline);
  }

  Awaitable<Result<Rows>> route(Query query, const Params& params, const Options& options) {
    if (closed_) co_return Error{Errc::unavailable, "the database is closed"};
    const auto deadline = deadline_for(options.timeout);
    if (options.target == Target::replica && !shared_->replicas.empty()) {
      auto replica = co_await choose_replica(options, deadline);
      if (!replica) co_return replica.error();
      if (*replica) {
        auto rows = co_await run_on(*shared_->replicas[**replica], query, params, deadline);
        // A replica that failed (down, or a query cancelled by a recovery conflict) is not
        // the caller's problem: the primary answers instead.
        const bool retry =
            !rows && (rows.error().code == Errc::unavailable || rows.error().code == Errc::aborted);
        if (!retry) co_return rows;
        shared_->fallback_replica_failed.inc();
      }
    }
    if (options.target == Target::replica) {
      co_return co_await read_on_primary(query, params, deadline);
    }
    co_return co_await run_on(*shared_->primary, query, params, deadline);
  }

  // A replica read that the primary serves runs READ ONLY, so that a write sent to
  // Target::replica fails (invalid_argument) whether or not a replica is up, as on SQLite.
  // BEGIN, the statement and COMMIT go in one pipeline: one round trip still.
  Awaitable<Result<Rows>> read_on_primary(Query query, const Params& params,
                                          Clock::time_point deadline) {
    auto lease = co_await checkout(*shared_->primary, deadline);
    if (!lease) co_return lease.error();
    const std::string begin = "BEGIN READ ONLY";
    std::vector<std::pair<Query, Params>> statements{{query, params}, {kCommit, {}}};
    auto results = co_await (*lease)->pipeline(statements, deadline, begin);
    if (!results) co_return results.error();  // the pool drops it if left in a transaction
    co_return std::move(results->front());
  }

  // The replica to read from, or nullopt for the primary.
  Awaitable<Result<std::optional<std::size_t>>> choose_replica(const Options& options,
                                                               Clock::time_point deadline) {
    auto& monitor = *shared_->monitor;
    std::optional<std::uint64_t> after;
    if (options.after && !options.after->position.empty()) {
      after = parse_lsn(options.after->position);
      if (!after) {
        co_return Error{Errc::invalid_argument, "Options::after is not a PostgreSQL commit token"};
      }
    }
    if (!after) {
      auto picked = monitor.pick();
      if (!picked) shared_->fallback_no_replica.inc();
      co_return picked;
    }
    if (auto known = monitor.pick(after)) co_return known;
    // No replica is known to have the commit yet: ask one that is otherwise fit until it has
    // replayed it or fresh_read_timeout passes.
    auto candidate = monitor.pick();
    if (!candidate) {
      shared_->fallback_no_replica.inc();
      co_return std::optional<std::size_t>{};
    }
    const auto fresh_deadline =
        std::min(deadline, Clock::now() + shared_->options.fresh_read_timeout);
    const Params position{format_lsn(*after)};
    auto* context = co_await current_context();
    asio::steady_timer pause(*context);
    for (;;) {
      auto replayed = co_await run_on(*shared_->replicas[*candidate], kReplayedPosition, position,
                                      fresh_deadline);
      if (!replayed) break;
      const Value& value = replayed->at(0, 0);
      if (!value.is_null() && value.boolean()) co_return candidate;
      if (Clock::now() + kFreshPoll >= fresh_deadline) break;
      pause.expires_after(kFreshPoll);
      auto [ec] = co_await pause.async_wait(kNoThrow);
      if (ec) co_return Error{Errc::cancelled, "the read was cancelled"};
    }
    shared_->fallback_not_fresh.inc();
    co_return std::optional<std::size_t>{};
  }

  Awaitable<Result<std::unique_ptr<Transaction>>> open_transaction(TransactionOptions options) {
    if (closed_) co_return Error{Errc::unavailable, "the database is closed"};
    // The whole transaction's bound; the server's statement_timeout bounds each statement.
    const auto deadline =
        Clock::now() +
        (options.timeout.count() > 0 ? options.timeout : shared_->options.statement_timeout);
    auto lease = co_await checkout(*shared_->primary, deadline);
    if (!lease) co_return lease.error();
    std::string sql = "BEGIN ISOLATION LEVEL ";
    switch (options.isolation) {
      case Isolation::read_committed:
        sql += "READ COMMITTED";
        break;
      case Isolation::repeatable_read:
        sql += "REPEATABLE READ";
        break;
      case Isolation::serializable:
        sql += "SERIALIZABLE";
        break;
    }
    if (options.read_only) sql += " READ ONLY";
    co_return std::unique_ptr<Transaction>(new PgTransaction(
        shared_, std::move(lease).value(), deadline, options.trace, std::move(sql)));
  }

  std::shared_ptr<Shared> shared_;
  std::atomic<bool> closed_{false};
};

// libpq must be able to read the URL; its own messages may quote the URL (and the password
// in it), so they are not passed on.
bool valid_url(const std::string& url) {
  // libpq is the parser that counts here; the scheme is checked as every backend's is.
  const std::string scheme = url_scheme(url);
  if (scheme != "postgresql" && scheme != "postgres") return false;
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
  if (error != nullptr) PQfreemem(error);
  if (parsed == nullptr) return false;
  PQconninfoFree(parsed);
  return true;
}

Result<std::shared_ptr<Database>> open_postgresql(const DatabaseOptions& options, EventLoop& loop,
                                                  obs::Telemetry* telemetry) {
  if (!valid_url(options.url)) {
    return Error{Errc::invalid_argument,
                 "database.url is not a PostgreSQL URL libpq can read "
                 "(postgresql://user:password@host:port/database?param=value)"};
  }
  for (std::size_t i = 0; i < options.replicas.size(); ++i) {
    if (!valid_url(options.replicas[i])) {
      return Error{Errc::invalid_argument, "database.replicas[" + std::to_string(i) +
                                               "] is not a PostgreSQL URL libpq can read"};
    }
  }
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  auto pool_settings = [&](const std::string& url, std::string label) {
    PoolSettings settings;
    settings.connect.url = url;
    settings.connect.statement_timeout = options.statement_timeout;
    settings.size = options.pool_size;
    settings.connect_timeout = options.connect_timeout;
    settings.label = std::move(label);
    return settings;
  };
  shared->primary = std::make_unique<Server>(pool_settings(options.url, "primary"));
  ReplicaMonitorSettings monitor;
  monitor.primary.url = options.url;
  monitor.primary.statement_timeout = options.statement_timeout;
  monitor.interval = options.replica_check_interval;
  monitor.connect_timeout = options.connect_timeout;
  monitor.max_lag = options.max_replica_lag;
  for (std::size_t i = 0; i < options.replicas.size(); ++i) {
    auto settings = pool_settings(options.replicas[i], "replica " + std::to_string(i + 1));
    monitor.replicas.push_back(settings.connect);
    shared->replicas.push_back(std::make_unique<Server>(std::move(settings)));
  }
  shared->telemetry = std::make_unique<QueryTelemetry>(telemetry, Dialect::postgresql);
  if (telemetry != nullptr) {
    auto fallbacks = [&](const char* reason) {
      return telemetry->metrics().counter("db_client_replica_fallbacks_total",
                                          "Replica reads served by the primary instead, by reason.",
                                          {{"reason", reason}});
    };
    shared->fallback_no_replica = fallbacks("no_fit_replica");
    shared->fallback_not_fresh = fallbacks("not_fresh");
    shared->fallback_replica_failed = fallbacks("replica_failed");
  }
  if (!options.replicas.empty()) {
    shared->monitor =
        std::make_shared<ReplicaMonitor>(loop.context(0), std::move(monitor), telemetry);
    shared->monitor->start();
  }
  return std::shared_ptr<Database>(std::make_shared<PgDatabase>(std::move(shared)));
}

[[maybe_unused]] const bool registered_postgresql = register_driver("postgresql", open_postgresql);
[[maybe_unused]] const bool registered_postgres = register_driver("postgres", open_postgresql);

}  // namespace

}  // namespace stoa::sql::pg
