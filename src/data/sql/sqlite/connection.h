#pragma once
// One SQLite connection, used by one thread at a time (its Worker): prepared statements
// cached per Query name, $N parameters, deadlines and cancellation, SQLite's result codes
// mapped to Errc. sqlite3.h stays in the .cpp.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/sql/sql.h"

struct sqlite3;
struct sqlite3_stmt;

namespace stoa::sql::sqlite {

using Clock = std::chrono::steady_clock;

struct ConnectionOptions {
  std::string path;  // a file, or ":memory:"
  bool read_only = false;
  // How long a statement waits for another process's lock before Errc::aborted.
  std::chrono::milliseconds busy_timeout{5'000};
  std::size_t statement_cache = 256;  // prepared statements kept per connection
};

// What may stop a statement while it runs: checked by SQLite's progress and busy handlers.
struct Interrupt {
  Clock::time_point deadline = Clock::time_point::max();
  const std::atomic<bool>* cancelled = nullptr;
};

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> open(const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One statement of the program, prepared once per name.
  Result<Rows> execute(std::string_view name, std::string_view sql, const Params& params,
                       const Interrupt& interrupt);
  // A statement of the driver itself (BEGIN, COMMIT, ROLLBACK): no parameters, not cached.
  Status exec(const std::string& sql, const Interrupt& interrupt);
  // False in autocommit mode: no transaction is open on this connection.
  bool in_transaction() const;

 private:
  enum class Stop { none, timeout, cancelled };
  struct Prepared {
    std::string sql;
    sqlite3_stmt* statement = nullptr;
    // SQLite's parameter index i+1 takes params[binding[i]].
    std::vector<std::size_t> binding;
    std::size_t parameters = 0;  // the highest $N
  };

  Connection(sqlite3* db, const ConnectionOptions& options);
  static int on_progress(void* self);
  static int on_busy(void* self, int count);
  bool should_stop();
  Result<Prepared*> prepare(std::string_view name, std::string_view sql);
  Error error_from(int code, std::string_view name);
  void arm(const Interrupt& interrupt);

  sqlite3* db_;
  ConnectionOptions options_;
  std::map<std::string, Prepared, std::less<>> statements_;
  Interrupt interrupt_;
  Stop stop_ = Stop::none;
  Clock::time_point busy_since_;
};

}  // namespace stoa::sql::sqlite
