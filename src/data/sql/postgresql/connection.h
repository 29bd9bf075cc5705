#pragma once
// One libpq connection driven by Asio on one io_context: libpq in non-blocking mode, its
// socket watched by a stream_descriptor, so a statement never blocks the event-loop thread.
// Internal to the PostgreSQL driver (this header includes Asio; libpq stays in the .cpp).
//
// Not thread-safe: a Connection is used by one coroutine at a time on its io_context.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "data/sql/postgresql/result.h"
#include "data/sql/sql.h"

struct pg_conn;
struct pg_result;

namespace stoa::sql::pg {

using Clock = std::chrono::steady_clock;

struct ConnectSettings {
  std::string url;  // a libpq connection URI: postgresql://user:password@host:port/db?sslmode=...
  std::chrono::milliseconds statement_timeout{10'000};  // the server-side backstop
};

// A PGresult owned; freed with PQclear.
struct ResultDeleter {
  void operator()(pg_result* result) const;
};
using PgResult = std::unique_ptr<pg_result, ResultDeleter>;

class Connection {
 public:
  // Connects (TLS included, as the URL's sslmode asks) by the deadline: Errc::unavailable when
  // the server refuses or is unreachable, timeout at the deadline, invalid_argument for a URL
  // libpq cannot parse.
  static Awaitable<Result<std::unique_ptr<Connection>>> open(boost::asio::io_context& context,
                                                             const ConnectSettings& settings,
                                                             Clock::time_point deadline);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  boost::asio::io_context& context() { return context_; }

  // One statement through the extended protocol, prepared on this connection the first time
  // its Query is run here. Outside a transaction it is a transaction of its own.
  Awaitable<Result<Rows>> execute(Query query, const Params& params, Clock::time_point deadline);

  // Statements sent in one pipeline (libpq pipeline mode) in one implicit transaction, which
  // the server commits at the sync point or rolls back at the first error.
  // `prelude`, when not empty, is parameterless SQL sent first in the same pipeline (a
  // transaction's BEGIN rides along with its first statement: one round trip saved); then
  // the statements run in the transaction it opened, which stays open after the sync.
  Awaitable<Result<std::vector<Rows>>> pipeline(
      const std::vector<std::pair<Query, Params>>& statements, Clock::time_point deadline,
      const std::string& prelude = {});

  // SQL without parameters through the simple protocol (BEGIN, COMMIT; SELECT ...): the rows
  // of each statement it contains.
  // `name` names the step in error messages ("begin", "commit").
  Awaitable<Result<std::vector<Rows>>> simple(const std::string& sql, Clock::time_point deadline,
                                              std::string_view name = "setup");

  // Fit for another caller: not broken, connected, outside any transaction, and (with
  // `peek`, for a connection that sat idle) no bytes waiting from the server: an idle
  // connection the server closed or sent a shutdown notice on is not alive.
  bool reusable(bool peek = true);
  // Still fit for the transaction it is in (broken connections are not).
  bool broken() const { return broken_; }
  bool in_transaction() const;
  // When the pool last took it back (for reusable()'s peek).
  Clock::time_point idle_since{};

  // Asks the server to cancel what it is running. libpq's PQcancel opens a connection and
  // blocks, so it runs on a short-lived helper thread; its outcome is seen as the statement's
  // result (SQLSTATE 57014).
  void request_cancel();

 private:
  struct Timer;  // the per-statement timer: cancel request, then a hard stop
  class StatementGuard;

  Connection(boost::asio::io_context& context, pg_conn* conn);

  // Waits until the socket is readable or writable; an Error when the statement's deadline
  // passed (timeout), the caller cancelled (cancelled) or the socket failed (unavailable).
  Awaitable<Status> wait(bool write);
  // Sends what libpq has buffered.
  Awaitable<Status> flush();
  // The next result of the command in flight; nullptr at its end.
  Awaitable<Result<PgResult>> next_result();
  // Reads the results of one command until its end: the last non-null result's rows, or the
  // first error (after draining the rest).
  Awaitable<Result<Rows>> finish_command(std::string_view name);
  // Ensures `query` is prepared here; returns the statement name.
  Awaitable<Result<std::string>> prepare(Query query);
  // The statement name when `query` is prepared here already, else nullptr.
  const std::string* prepared_statement(Query query) const;
  Error connection_error(std::string_view what) const;
  static Error reused_name(std::string_view name);

  boost::asio::io_context& context_;
  pg_conn* conn_;
  boost::asio::posix::stream_descriptor socket_;
  std::shared_ptr<Timer> timer_;
  // Query name -> {statement name, SQL}: the statements prepared on this connection. Looked
  // up by string_view, without making a string.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const {
      return std::hash<std::string_view>{}(name);
    }
  };
  std::unordered_map<std::string, std::pair<std::string, std::string>, NameHash, std::equal_to<>>
      prepared_;
  EncodedParams scratch_;
  std::uint64_t next_statement_ = 0;
  bool broken_ = false;
};

}  // namespace stoa::sql::pg
