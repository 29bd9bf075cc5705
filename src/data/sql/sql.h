#pragma once
// The one SQL interface every service uses, whatever engine `database.url` names: SQLite
// (the embedded default) or PostgreSQL with read replicas. docs/data-sql.md explains it.
//
// - Statements are parameterized only: SQL text is a constant of the program, never built from
//   input. Placeholders are $1, $2 ... in both dialects.
// - Every statement is a named Query: metrics, spans and prepared statements are per name.
// - Every call says where it may run (Target), as userver's ClusterHostType does: a replica
//   read may see data up to `database.max_replica_lag` old, unless the caller passes the
//   CommitToken of its own write (read-your-writes).
// - Calls are coroutines on the caller's event-loop thread; they honour Asio's per-operation
//   cancellation (the statement is cancelled on the server) and a per-statement timeout.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/async.h"
#include "runtime/error.h"

namespace stoa {
class ComponentHost;
class Config;
class EventLoop;
class TraceContext;
namespace obs {
class Telemetry;
}
}  // namespace stoa

namespace stoa::sql {

enum class Dialect { sqlite, postgresql };
const char* to_string(Dialect dialect);

// Where a statement may run.
enum class Target {
  primary,  // writes, and reads that must see everything committed
  replica,  // reads that tolerate bounded staleness: a healthy replica, else the primary
};

// Bytes that are a BLOB/bytea, as opposed to text.
struct Blob {
  std::string bytes;
  friend bool operator==(const Blob&, const Blob&) = default;
};

// A parameter or a column value. Integers are int64, reals double; booleans are stored as
// SQLite integers, so boolean() also accepts 0 and 1.
class Value {
 public:
  Value() = default;        // NULL
  Value(std::nullptr_t) {}  // NOLINT: implicit by design, as are the ones below
  template <class I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool>) Value(I integer)
      : data_(static_cast<std::int64_t>(integer)) {}          // NOLINT
  Value(bool boolean) : data_(boolean) {}                     // NOLINT
  Value(double real) : data_(real) {}                         // NOLINT
  Value(std::string text) : data_(std::move(text)) {}         // NOLINT
  Value(std::string_view text) : data_(std::string(text)) {}  // NOLINT
  Value(const char* text) : data_(std::string(text)) {}       // NOLINT
  Value(Blob blob) : data_(std::move(blob)) {}                // NOLINT
  template <class T>
  Value(std::optional<T> value) {  // NOLINT: nullopt is NULL
    if (value) *this = Value(std::move(*value));
  }

  bool is_null() const { return data_.index() == 0; }
  // The value as that type; std::bad_variant_access when the column holds another type or
  // NULL (a program error: the query's column types are known).
  std::int64_t integer() const;
  double real() const;  // an integer converts
  bool boolean() const;
  const std::string& text() const;
  const Blob& blob() const;
  std::optional<std::int64_t> optional_integer() const;
  std::optional<std::string> optional_text() const;

  using Data = std::variant<std::monostate, std::int64_t, double, bool, std::string, Blob>;
  const Data& data() const { return data_; }
  friend bool operator==(const Value&, const Value&) = default;

 private:
  Data data_;
};

using Params = std::vector<Value>;

// The rows of one statement, column values in order.
class Rows {
 public:
  Rows() = default;
  Rows(std::vector<std::string> columns, std::vector<std::vector<Value>> rows,
       std::uint64_t affected)
      : columns_(std::move(columns)), rows_(std::move(rows)), affected_(affected) {}

  const std::vector<std::string>& columns() const { return columns_; }
  std::size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  const std::vector<Value>& row(std::size_t index) const { return rows_.at(index); }
  const Value& at(std::size_t row, std::size_t column) const { return rows_.at(row).at(column); }
  // By column name; std::out_of_range when the statement has no such column.
  const Value& at(std::size_t row, std::string_view column) const;
  // Rows changed by an INSERT, UPDATE or DELETE.
  std::uint64_t affected() const { return affected_; }

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<Value>> rows_;
  std::uint64_t affected_ = 0;
};

// A statement of the program: a constant with a name (metrics, spans, prepared statements
// are per name; the name must be unique per SQL text) and SQL with $N placeholders.
struct Query {
  std::string_view name;
  std::string_view sql;
};

// Where a committed write is in the primary's history (PostgreSQL: the commit's WAL LSN).
// Pass it to a later read (Options::after) so that the read sees that write.
struct CommitToken {
  std::string position;  // "" = nothing to wait for
};

struct Options {
  Target target = Target::primary;
  // 0 = database.statement_timeout. A statement past it is cancelled: Errc::timeout.
  std::chrono::milliseconds timeout{0};
  // Read-your-writes for Target::replica: use a replica only once it has replayed this
  // commit, waiting up to database.fresh_read_timeout; otherwise read the primary.
  std::optional<CommitToken> after;
  // The caller's span: the query's span becomes its child. nullptr = no span.
  const TraceContext* trace = nullptr;
};

enum class Isolation { read_committed, repeatable_read, serializable };

struct TransactionOptions {
  Isolation isolation = Isolation::read_committed;
  bool read_only = false;
  // Bounds the whole transaction, begin to commit; 0 = database.statement_timeout.
  std::chrono::milliseconds timeout{0};
  const TraceContext* trace = nullptr;
};

// One transaction on the primary; its statements run in order on one connection. Destroying
// it without commit() rolls it back.
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual Awaitable<Result<Rows>> execute(Query query, Params params) = 0;
  // Errc::aborted when it lost a race with another transaction (serialization failure,
  // deadlock): run the whole transaction again.
  virtual Awaitable<Result<CommitToken>> commit() = 0;
  virtual Awaitable<Status> rollback() = 0;
};

// Errors: Errc::invalid_argument (bad SQL, wrong parameter count or type: a program error),
// conflict (unique, foreign-key or check violation; the message names the constraint),
// aborted (serialization failure or deadlock), timeout, cancelled, unavailable (no server
// reachable), internal. Messages never contain parameter values.
class Database {
 public:
  virtual ~Database() = default;

  virtual Dialect dialect() const = 0;

  // One statement, in a transaction of its own.
  virtual Awaitable<Result<Rows>> execute(Query query, Params params, Options options = {}) = 0;

  // Several statements sent together (PostgreSQL pipeline mode), in one transaction on the
  // primary; stops at the first error. One Rows per statement.
  virtual Awaitable<Result<std::vector<Rows>>> batch(
      std::vector<std::pair<Query, Params>> statements, Options options = {}) = 0;

  virtual Awaitable<Result<std::unique_ptr<Transaction>>> begin(
      TransactionOptions options = {}) = 0;

  // For readiness checks: Ok when the primary answers.
  virtual Awaitable<Status> ping() = 0;

  // Closes connections and stops background work. Called before the event loop goes.
  virtual void close() = 0;
};

// [database] of stoa.toml.
struct DatabaseOptions {
  std::string url = "sqlite://data/stoa.db";
  std::vector<std::string> replicas;
  std::size_t pool_size = 4;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds statement_timeout{10'000};
  std::chrono::milliseconds max_replica_lag{1'000};
  std::chrono::milliseconds replica_check_interval{1'000};
  std::chrono::milliseconds fresh_read_timeout{500};

  static DatabaseOptions from_config(const Config& config);
};

// Opens the database `options.url` names. `telemetry` may be nullptr (no metrics, no spans).
// Errc::invalid_argument for a URL of no known scheme or with bad parameters.
Result<std::shared_ptr<Database>> open_database(const DatabaseOptions& options, EventLoop& loop,
                                                obs::Telemetry* telemetry);

// The process's database, shared by its components (ComponentHost::shared): opened from
// [database] on first use, with a readiness check "database". Throws std::runtime_error with
// a message for a person when it cannot be opened.
std::shared_ptr<Database> database(ComponentHost& host);

}  // namespace stoa::sql
