// The SQLite driver behind `sqlite://PATH`: one writer connection and database.pool_size
// reader connections, each on its own thread (sqlite/worker.h), so a slow statement never
// stalls an event-loop thread. docs/data-sql.md has the decisions.
#include <filesystem>
#include <optional>
#include <system_error>

#include "data/sql/driver.h"
#include "data/sql/query_telemetry.h"
#include "data/sql/sqlite/call.h"
#include "runtime/backend_url.h"
#include "runtime/config.h"
#include "runtime/trace_context.h"

namespace stoa::sql::sqlite {

namespace {

constexpr const char* kMemory = ":memory:";

struct Settings {
  ConnectionOptions connection;
  std::size_t max_queue = 1024;
};

// sqlite://PATH[?busy_timeout=5s&max_queue=1024]; PATH is relative to the working directory
// ("sqlite:///var/lib/stoa.db" is absolute), percent-decoded, or ":memory:".
Result<Settings> parse_url(const std::string& url) {
  Settings settings;
  auto parsed = parse_backend_url(url, UrlForm::path);
  if (!parsed) return Error{Errc::invalid_argument, "database.url: " + parsed.error().message};
  if (parsed->path.empty()) {
    return Error{Errc::invalid_argument,
                 "database.url: sqlite:// needs a path, e.g. sqlite://data/stoa.db"};
  }
  settings.connection.path = parsed->path;
  for (const UrlParam& param : parsed->query) {
    const std::string& key = param.name;
    const std::string& value = param.value;
    if (key == "busy_timeout") {
      auto duration = parse_duration(value);
      if (!duration) {
        return Error{Errc::invalid_argument,
                     "database.url: busy_timeout must be a duration such as 5s, not " +
                         quote_for_message(value)};
      }
      settings.connection.busy_timeout = *duration;
    } else if (key == "max_queue") {
      std::size_t parsed_queue = 0;
      try {
        parsed_queue = static_cast<std::size_t>(std::stoul(value));
      } catch (const std::exception&) {
        parsed_queue = 0;
      }
      if (parsed_queue == 0 || parsed_queue > 1'000'000) {
        return Error{Errc::invalid_argument,
                     "database.url: max_queue must be between 1 and 1000000, not " +
                         quote_for_message(value)};
      }
      settings.max_queue = parsed_queue;
    } else {
      return Error{Errc::invalid_argument, "database.url: unknown SQLite option " +
                                               quote_for_message(key) +
                                               " (known: busy_timeout, max_queue)"};
    }
  }
  return settings;
}

void finish(QueryTelemetry::Scope& scope, const Result<Rows>& result) {
  if (result) {
    scope.finish(nullptr, result->empty() ? result->affected() : result->size());
  } else {
    scope.finish(&result.error(), 0);
  }
}

// What the database and its transactions share. Destroying it closes the workers first
// (their jobs use the telemetry).
struct Shared {
  DatabaseOptions options;
  QueryTelemetry telemetry;
  std::shared_ptr<Worker> writer;
  std::vector<std::shared_ptr<Worker>> readers;
  std::atomic<std::size_t> next_reader{0};
  std::atomic<std::uint64_t> next_transaction{1};

  Shared(DatabaseOptions o, obs::Telemetry* t)
      : options(std::move(o)), telemetry(t, Dialect::sqlite) {}
  ~Shared() { close(); }

  void close() {
    if (writer) writer->close();
    for (auto& reader : readers) reader->close();
  }

  std::shared_ptr<Worker> reader() {
    if (readers.empty()) return writer;  // :memory: has no second connection to read from
    return readers[next_reader.fetch_add(1) % readers.size()];
  }

  Clock::time_point deadline(std::chrono::milliseconds timeout) const {
    return Clock::now() + (timeout.count() > 0 ? timeout : options.statement_timeout);
  }
};

Work<Rows> statement_work(Shared& shared, Query query, Params params, Target target,
                          const TraceContext* trace) {
  std::optional<TraceContext> parent;
  if (trace != nullptr) parent = *trace;
  return
      [telemetry = &shared.telemetry, name = std::string(query.name), sql = std::string(query.sql),
       params = std::move(params), target, parent = std::move(parent)](
          Connection& connection, const Interrupt& interrupt) -> Result<Rows> {
        auto scope = telemetry->start(name, sql, target, parent ? &*parent : nullptr);
        auto result = connection.execute(name, sql, params, interrupt);
        finish(scope, result);
        return result;
      };
}

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(std::shared_ptr<Shared> shared, std::shared_ptr<Worker> worker,
                    std::uint64_t id, Clock::time_point deadline, Target target,
                    std::optional<TraceContext> trace)
      : shared_(std::move(shared)),
        worker_(std::move(worker)),
        id_(id),
        deadline_(deadline),
        target_(target),
        trace_(std::move(trace)) {}

  ~SqliteTransaction() override {
    if (finished_) return;
    // A destructor cannot await: the rollback is queued and runs before anything else
    // waiting for the connection.
    Worker::Job job;
    job.transaction = id_;
    job.bypass_limit = true;
    job.run = [](Connection& connection, Worker::Turn turn) {
      if (turn == Worker::Turn::run && connection.in_transaction()) {
        (void)connection.exec("ROLLBACK", Interrupt{});
      }
    };
    (void)worker_->submit(std::move(job));
  }

  Awaitable<Result<Rows>> execute(Query query, Params params) override {
    if (finished_) return finished_error<Rows>();
    return call<Rows>(
        *worker_, spec(),
        statement_work(*shared_, query, std::move(params), target_, trace_ ? &*trace_ : nullptr));
  }

  Awaitable<Result<CommitToken>> commit() override {
    if (finished_) return finished_error<CommitToken>();
    finished_ = true;
    return call<CommitToken>(
        *worker_, spec(),
        [](Connection& connection, const Interrupt& interrupt) -> Result<CommitToken> {
          auto status = connection.exec("COMMIT", interrupt);
          if (!status) {
            if (connection.in_transaction()) (void)connection.exec("ROLLBACK", Interrupt{});
            return status.error();
          }
          // Readers see a commit as soon as it returned: SQLite needs no token.
          return CommitToken{};
        });
  }

  Awaitable<Status> rollback() override {
    if (finished_) return finished_error<Ok>();
    finished_ = true;
    return call<Ok>(*worker_, spec(), [](Connection& connection, const Interrupt&) -> Status {
      if (!connection.in_transaction()) return Ok{};
      return connection.exec("ROLLBACK", Interrupt{});
    });
  }

 private:
  CallSpec spec() const {
    CallSpec spec;
    spec.transaction = id_;
    spec.transaction_deadline = deadline_;
    spec.deadline = std::min(deadline_, shared_->deadline({}));
    return spec;
  }

  template <class T>
  static Awaitable<Result<T>> finished_error() {
    // A named string: GCC 12 cannot initialise from a literal inside a coroutine.
    const std::string message = "the transaction was already committed or rolled back";
    co_return Error{Errc::invalid_argument, message};
  }

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Worker> worker_;
  std::uint64_t id_;
  Clock::time_point deadline_;
  Target target_;
  std::optional<TraceContext> trace_;
  bool finished_ = false;
};

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  ~SqliteDatabase() override { close(); }

  Dialect dialect() const override { return Dialect::sqlite; }

  Awaitable<Result<Rows>> execute(Query query, Params params, Options options) override {
    auto worker = options.target == Target::replica ? shared_->reader() : shared_->writer;
    CallSpec spec;
    spec.deadline = shared_->deadline(options.timeout);
    return call<Rows>(
        *worker, spec,
        statement_work(*shared_, query, std::move(params), options.target, options.trace));
  }

  Awaitable<Result<std::vector<Rows>>> batch(std::vector<std::pair<Query, Params>> statements,
                                             Options options) override {
    std::vector<Work<Rows>> works;
    works.reserve(statements.size());
    for (auto& [query, params] : statements) {
      works.push_back(
          statement_work(*shared_, query, std::move(params), Target::primary, options.trace));
    }
    CallSpec spec;
    spec.deadline = shared_->deadline(options.timeout);
    return call<std::vector<Rows>>(
        *shared_->writer, spec,
        [works = std::move(works)](Connection& connection,
                                   const Interrupt& interrupt) -> Result<std::vector<Rows>> {
          auto begun = connection.exec("BEGIN IMMEDIATE", interrupt);
          if (!begun) return begun.error();
          std::vector<Rows> all;
          for (const auto& work : works) {
            auto rows = work(connection, interrupt);
            if (!rows) {
              if (connection.in_transaction()) (void)connection.exec("ROLLBACK", Interrupt{});
              return rows.error();
            }
            all.push_back(std::move(rows).value());
          }
          auto committed = connection.exec("COMMIT", interrupt);
          if (!committed) {
            if (connection.in_transaction()) (void)connection.exec("ROLLBACK", Interrupt{});
            return committed.error();
          }
          return all;
        });
  }

  Awaitable<Result<std::unique_ptr<Transaction>>> begin(TransactionOptions options) override {
    // Every isolation level is accepted: SQLite transactions are serializable, which is at
    // least what any level asks for.
    auto worker = options.read_only ? shared_->reader() : shared_->writer;
    const auto deadline = shared_->deadline(options.timeout);
    CallSpec spec;
    spec.transaction = shared_->next_transaction.fetch_add(1);
    spec.opens_transaction = true;
    spec.transaction_deadline = deadline;
    spec.deadline = deadline;
    // IMMEDIATE takes the write lock at once, so two writers queue up instead of one failing
    // with SQLITE_BUSY at its first write; a read-only transaction takes its snapshot lazily.
    const std::string statement = options.read_only ? "BEGIN" : "BEGIN IMMEDIATE";
    // Named, not a temporary in the co_await expression: GCC 12 destroys such temporaries
    // twice in coroutines.
    Work<Ok> open = [statement](Connection& connection, const Interrupt& interrupt) {
      return connection.exec(statement, interrupt);
    };
    auto begun = co_await call<Ok>(*worker, spec, std::move(open));
    if (!begun) co_return begun.error();
    std::optional<TraceContext> trace;
    if (options.trace != nullptr) trace = *options.trace;
    co_return std::unique_ptr<Transaction>(std::make_unique<SqliteTransaction>(
        shared_, worker, spec.transaction, deadline,
        options.read_only ? Target::replica : Target::primary, std::move(trace)));
  }

  Awaitable<Status> ping() override {
    static constexpr Query kPing{"stoa.ping", "SELECT 1"};
    auto result = co_await execute(kPing, {}, Options{});
    if (!result) co_return result.error();
    co_return Ok{};
  }

  void close() override { shared_->close(); }

 private:
  std::shared_ptr<Shared> shared_;
};

Result<std::shared_ptr<Database>> open_sqlite(const DatabaseOptions& options, EventLoop&,
                                              obs::Telemetry* telemetry) {
  auto settings = parse_url(options.url);
  if (!settings) return settings.error();
  const std::string& path = settings->connection.path;
  const bool memory = path == kMemory;
  if (!memory) {
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      return Error{Errc::io, "cannot create the directory of SQLite database " +
                                 quote_for_message(path, 200) + ": " + ec.message()};
    }
  }
  auto shared = std::make_shared<Shared>(options, telemetry);
  auto writer = Connection::open(settings->connection);
  if (!writer) return writer.error();
  shared->writer =
      std::make_shared<Worker>(std::move(writer).value(), settings->max_queue, "writer");
  // Readers open after the writer made the file and switched it to WAL.
  const std::size_t readers = memory ? 0 : options.pool_size;
  for (std::size_t i = 0; i < readers; ++i) {
    ConnectionOptions reader_options = settings->connection;
    reader_options.read_only = true;
    auto reader = Connection::open(reader_options);
    if (!reader) return reader.error();
    shared->readers.push_back(
        std::make_shared<Worker>(std::move(reader).value(), settings->max_queue, "reader"));
  }
  return std::shared_ptr<Database>(std::make_shared<SqliteDatabase>(std::move(shared)));
}

[[maybe_unused]] const bool registered = register_driver("sqlite", open_sqlite);

}  // namespace

}  // namespace stoa::sql::sqlite
