#include "data/sql/sqlite/connection.h"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <thread>

namespace stoa::sql::sqlite {

namespace {

// SQLite calls the progress handler every this many virtual-machine instructions: often
// enough that a timeout or a cancellation stops a statement within about a millisecond.
constexpr int kProgressInstructions = 1000;

std::string query_label(std::string_view name) {
  return "query " + quote_for_message(name) + ": ";
}

// "$7" -> 7; 0 for any other placeholder form (?, ?7, :name, @name).
std::size_t dollar_index(const char* name) {
  if (name == nullptr || name[0] != '$' || name[1] == '\0') return 0;
  std::size_t index = 0;
  const char* end = name + std::char_traits<char>::length(name);
  auto [ptr, ec] = std::from_chars(name + 1, end, index);
  if (ec != std::errc() || ptr != end) return 0;
  return index;
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const ConnectionOptions& options) {
  sqlite3* db = nullptr;
  // NOMUTEX: a connection is used by one thread at a time (its worker), so SQLite's own
  // per-connection mutex would only cost.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Error{Errc::unavailable, "cannot open SQLite database " +
                                        quote_for_message(options.path, 200) + ": " + message};
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<Connection> connection(new Connection(db, options));
  // WAL: readers never block the writer nor the writer readers. synchronous=NORMAL: in WAL
  // mode a commit is durable against a crash of the process; a power loss may lose the last
  // commits (never corrupts the file) - the usual trade for a server, see docs/data-sql.md.
  std::vector<std::string> setup;
  if (!options.read_only) setup.emplace_back("PRAGMA journal_mode=WAL");
  setup.emplace_back("PRAGMA synchronous=NORMAL");
  setup.emplace_back("PRAGMA foreign_keys=ON");
  if (options.read_only) setup.emplace_back("PRAGMA query_only=ON");
  for (const auto& pragma : setup) {
    Interrupt bound;
    bound.deadline = Clock::now() + options.busy_timeout;
    auto status = connection->exec(pragma, bound);
    // Two processes opening a new database together both try to switch it to WAL; SQLite
    // answers one of them SQLITE_BUSY at once, without its busy handler (waiting could
    // deadlock the lock upgrade). Trying again once the other has switched succeeds.
    while (!status && Clock::now() < bound.deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      status = connection->exec(pragma, bound);
    }
    if (!status) {
      return Error{Errc::unavailable, "cannot set up SQLite database " +
                                          quote_for_message(options.path, 200) + " (" + pragma +
                                          "): " + status.error().message};
    }
  }
  return connection;
}

Connection::Connection(sqlite3* db, const ConnectionOptions& options) : db_(db), options_(options) {
  sqlite3_progress_handler(db_, kProgressInstructions, &Connection::on_progress, this);
  // Our own busy handler instead of sqlite3_busy_timeout: it also gives up at the
  // statement's deadline or on cancellation.
  sqlite3_busy_handler(db_, &Connection::on_busy, this);
}

Connection::~Connection() {
  for (auto& [name, prepared] : statements_) sqlite3_finalize(prepared.statement);
  sqlite3_close_v2(db_);
}

bool Connection::should_stop() {
  if (interrupt_.cancelled != nullptr && interrupt_.cancelled->load()) {
    stop_ = Stop::cancelled;
    return true;
  }
  if (Clock::now() >= interrupt_.deadline) {
    stop_ = Stop::timeout;
    return true;
  }
  return false;
}

int Connection::on_progress(void* self) {
  return static_cast<Connection*>(self)->should_stop() ? 1 : 0;
}

int Connection::on_busy(void* self, int count) {
  auto* connection = static_cast<Connection*>(self);
  if (connection->should_stop()) return 0;
  const auto now = Clock::now();
  if (count == 0) connection->busy_since_ = now;
  if (now - connection->busy_since_ >= connection->options_.busy_timeout) return 0;
  // Short sleeps: the lock holder is usually a transaction of a few milliseconds.
  auto nap = std::chrono::milliseconds(std::min(1 + count, 10));
  std::this_thread::sleep_for(
      std::min<Clock::duration>(nap, connection->interrupt_.deadline - now));
  return 1;
}

void Connection::arm(const Interrupt& interrupt) {
  interrupt_ = interrupt;
  stop_ = Stop::none;
}

bool Connection::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

Error Connection::error_from(int code, std::string_view name) {
  std::string message = query_label(name) + sqlite3_errmsg(db_);
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
      // SQLite's message names the constraint ("UNIQUE constraint failed: users.email"),
      // never the values.
      return Error{Errc::conflict, std::move(message)};
    case SQLITE_INTERRUPT:
      if (stop_ == Stop::cancelled) return Error{Errc::cancelled, query_label(name) + "cancelled"};
      return Error{Errc::timeout, query_label(name) + "stopped at its timeout"};
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      if (stop_ == Stop::cancelled) return Error{Errc::cancelled, query_label(name) + "cancelled"};
      if (stop_ == Stop::timeout) {
        return Error{Errc::timeout,
                     query_label(name) + "timed out waiting for another process's lock"};
      }
      // Another process held the write lock for longer than the busy timeout: the caller
      // lost a race and may retry.
      return Error{Errc::aborted, std::move(message)};
    case SQLITE_READONLY:
      return Error{Errc::invalid_argument, std::move(message) +
                                               " (a write sent to Target::replica, or a read-only "
                                               "transaction?)"};
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_AUTH:
      return Error{Errc::invalid_argument, std::move(message)};
    case SQLITE_TOOBIG:
      return Error{Errc::too_large, std::move(message)};
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
      return Error{Errc::io, std::move(message)};
    default:
      return Error{Errc::internal, std::move(message)};
  }
}

Result<Connection::Prepared*> Connection::prepare(std::string_view name, std::string_view sql) {
  auto it = statements_.find(name);
  if (it != statements_.end()) {
    if (it->second.sql == sql) return &it->second;
    return Error{Errc::invalid_argument,
                 query_label(name) + "the name is used for two different SQL texts"};
  }
  if (statements_.size() >= options_.statement_cache) {
    // Programs have a fixed set of queries; a cache this full holds one-off statements
    // (migrations). Starting over keeps memory bounded without bookkeeping.
    for (auto& [unused, prepared] : statements_) sqlite3_finalize(prepared.statement);
    statements_.clear();
  }
  sqlite3_stmt* statement = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &statement, &tail);
  if (rc != SQLITE_OK) return error_from(rc, name);
  if (statement == nullptr) {
    return Error{Errc::invalid_argument, query_label(name) + "the SQL holds no statement"};
  }
  // One statement per Query: anything after the first but whitespace and comments is an error.
  const char* end = sql.data() + sql.size();
  if (tail != nullptr && tail < end) {
    sqlite3_stmt* second = nullptr;
    rc = sqlite3_prepare_v2(db_, tail, static_cast<int>(end - tail), &second, nullptr);
    sqlite3_finalize(second);
    if (rc != SQLITE_OK || second != nullptr) {
      sqlite3_finalize(statement);
      return Error{Errc::invalid_argument, query_label(name) +
                                               "the SQL holds more than one "
                                               "statement"};
    }
  }
  Prepared prepared;
  prepared.sql = std::string(sql);
  prepared.statement = statement;
  const int count = sqlite3_bind_parameter_count(statement);
  std::vector<bool> seen;
  for (int i = 1; i <= count; ++i) {
    const std::size_t index = dollar_index(sqlite3_bind_parameter_name(statement, i));
    if (index == 0) {
      sqlite3_finalize(statement);
      return Error{Errc::invalid_argument,
                   query_label(name) + "placeholders are $1, $2 ... (not ?, :name or @name)"};
    }
    prepared.binding.push_back(index - 1);
    prepared.parameters = std::max(prepared.parameters, index);
    if (seen.size() < index) seen.resize(index);
    seen[index - 1] = true;
  }
  if (std::find(seen.begin(), seen.end(), false) != seen.end()) {
    sqlite3_finalize(statement);
    return Error{Errc::invalid_argument,
                 query_label(name) + "placeholders must be numbered $1..$N without gaps"};
  }
  return &statements_.emplace(std::string(name), std::move(prepared)).first->second;
}

Result<Rows> Connection::execute(std::string_view name, std::string_view sql, const Params& params,
                                 const Interrupt& interrupt) {
  arm(interrupt);
  if (should_stop()) {
    return stop_ == Stop::cancelled
               ? Error{Errc::cancelled, query_label(name) + "cancelled"}
               : Error{Errc::timeout, query_label(name) + "timed out before it started"};
  }
  auto prepared = prepare(name, sql);
  if (!prepared) return prepared.error();
  Prepared& p = **prepared;
  sqlite3_stmt* statement = p.statement;
  if (params.size() != p.parameters) {
    return Error{Errc::invalid_argument, query_label(name) + "expects " +
                                             std::to_string(p.parameters) + " parameters, got " +
                                             std::to_string(params.size())};
  }
  // Leaves the statement reset and unbound whatever happens: it stays in the cache.
  struct Reset {
    sqlite3_stmt* statement;
    ~Reset() {
      sqlite3_reset(statement);
      sqlite3_clear_bindings(statement);
    }
  } reset{statement};

  for (std::size_t i = 0; i < p.binding.size(); ++i) {
    const int index = static_cast<int>(i + 1);
    const Value& value = params[p.binding[i]];
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::monostate>(value.data())) {
      rc = sqlite3_bind_null(statement, index);
    } else if (const auto* integer = std::get_if<std::int64_t>(&value.data())) {
      rc = sqlite3_bind_int64(statement, index, *integer);
    } else if (const auto* real = std::get_if<double>(&value.data())) {
      rc = sqlite3_bind_double(statement, index, *real);
    } else if (const auto* boolean = std::get_if<bool>(&value.data())) {
      rc = sqlite3_bind_int64(statement, index, *boolean ? 1 : 0);
    } else if (const auto* text = std::get_if<std::string>(&value.data())) {
      // PostgreSQL refuses NUL in text; refusing it here too keeps the engines alike.
      if (text->find('\0') != std::string::npos) {
        return Error{Errc::invalid_argument, query_label(name) + "text parameter $" +
                                                 std::to_string(p.binding[i] + 1) +
                                                 " contains a NUL byte (store bytes as a Blob)"};
      }
      rc = sqlite3_bind_text64(statement, index, text->data(), text->size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
    } else {
      const auto& bytes = std::get<Blob>(value.data()).bytes;
      rc = bytes.empty() ? sqlite3_bind_zeroblob(statement, index, 0)
                         : sqlite3_bind_blob64(statement, index, bytes.data(), bytes.size(),
                                               SQLITE_TRANSIENT);
    }
    if (rc != SQLITE_OK) return error_from(rc, name);
  }

  const int columns = sqlite3_column_count(statement);
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(columns));
  for (int c = 0; c < columns; ++c) names.emplace_back(sqlite3_column_name(statement, c));
  std::vector<std::vector<Value>> rows;
  for (;;) {
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return error_from(rc, name);
    std::vector<Value> row;
    row.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(statement, c)) {
        case SQLITE_INTEGER:
          row.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(statement, c)));
          break;
        case SQLITE_FLOAT:
          row.emplace_back(sqlite3_column_double(statement, c));
          break;
        case SQLITE_TEXT: {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, c));
          row.emplace_back(
              std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement, c))));
          break;
        }
        case SQLITE_BLOB: {
          const auto* bytes = static_cast<const char*>(sqlite3_column_blob(statement, c));
          const auto size = static_cast<std::size_t>(sqlite3_column_bytes(statement, c));
          row.emplace_back(Blob{size == 0 ? std::string() : std::string(bytes, size)});
          break;
        }
        default:
          row.emplace_back();
      }
    }
    rows.push_back(std::move(row));
  }
  const std::uint64_t affected =
      sqlite3_stmt_readonly(statement) ? 0 : static_cast<std::uint64_t>(sqlite3_changes64(db_));
  return Rows(std::move(names), std::move(rows), affected);
}

Status Connection::exec(const std::string& sql, const Interrupt& interrupt) {
  arm(interrupt);
  // A BEGIN that waited in the queue past its deadline must not open a transaction.
  if (should_stop()) return error_from(SQLITE_INTERRUPT, sql);
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error_from(rc, sql);
  return Ok{};
}

}  // namespace stoa::sql::sqlite
