#include "data/sql/postgresql/connection.h"

#include <libpq-fe.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <thread>

#include "data/sql/postgresql/result.h"

namespace stoa::sql::pg {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// After the server was asked to cancel a statement at its deadline, how long its answer may
// take before the connection is given up (a server that cannot even answer that is gone).
constexpr std::chrono::milliseconds kCancelGrace{2'000};

// libpq's messages end in a newline and may span lines; one line reads better in a log.
std::string one_line(const char* text) {
  std::string out = text == nullptr ? std::string() : std::string(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  for (char& c : out) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return out;
}

}  // namespace

void ResultDeleter::operator()(pg_result* result) const {
  PQclear(result);
}

// The statement deadline. At the deadline it asks the server to cancel (the statement then
// fails with 57014, and the connection stays usable); kCancelGrace later it stops waiting on
// the socket, and the connection is dropped.
//
// The timer is armed lazily: a statement that ends leaves it running, and the next one only
// re-arms it when its own deadline comes sooner. When the timer fires early (for a statement
// that has ended, or one with a later deadline) it re-arms for what is due, or stops. So a
// stream of statements costs no timer operation each, which matters at 30,000 per second.
// A shared object, so that a handler that runs after the Connection is gone finds `owner`
// null.
struct Connection::Timer : std::enable_shared_from_this<Timer> {
  explicit Timer(asio::io_context& context) : timer(context) {}
  asio::steady_timer timer;
  Connection* owner = nullptr;
  std::uint64_t generation = 0;  // of the wait in flight; older completions are ignored
  bool pending = false;          // a wait is in flight, for `armed_for`
  Clock::time_point armed_for{};
  bool active = false;      // a statement is running
  Clock::time_point due{};  // when its next step is due
  bool cancel_sent = false;
  bool expired = false;

  void start(Clock::time_point deadline, bool hard) {
    active = true;
    due = deadline;
    cancel_sent = hard;
    expired = false;
    if (!pending || armed_for > due) arm(due);
  }

  void arm(Clock::time_point at) {
    timer.expires_at(at);  // cancels a wait in flight: its completion is ignored below
    armed_for = at;
    pending = true;
    timer.async_wait([self = shared_from_this(), generation = ++generation](const error_code&) {
      if (self->generation != generation) return;
      self->pending = false;
      self->fire();
    });
  }

  void fire() {
    if (owner == nullptr || !active) return;
    const auto now = Clock::now();
    if (now < due) {
      arm(due);
      return;
    }
    if (!cancel_sent) {
      cancel_sent = true;
      owner->request_cancel();
      due = now + kCancelGrace;
      arm(due);
      return;
    }
    expired = true;
    error_code ignored;
    owner->socket_.cancel(ignored);
  }
};

class Connection::StatementGuard {
 public:
  // `hard`: no cancel request first (connecting: there is no statement to cancel).
  StatementGuard(Connection& connection, Clock::time_point deadline, bool hard = false)
      : timer_(*connection.timer_) {
    timer_.start(deadline, hard);
  }
  ~StatementGuard() { timer_.active = false; }
  StatementGuard(const StatementGuard&) = delete;
  StatementGuard& operator=(const StatementGuard&) = delete;

 private:
  Timer& timer_;
};

Connection::Connection(asio::io_context& context, pg_conn* conn)
    : context_(context), conn_(conn), socket_(context), timer_(std::make_shared<Timer>(context)) {
  timer_->owner = this;
}

Connection::~Connection() {
  timer_->owner = nullptr;
  timer_->timer.cancel();
  // The descriptor is libpq's: Asio lets go of it, then PQfinish closes it.
  if (socket_.is_open()) socket_.release();
  PQfinish(conn_);
}

Awaitable<Result<std::unique_ptr<Connection>>> Connection::open(asio::io_context& context,
                                                                const ConnectSettings& settings,
                                                                Clock::time_point deadline) {
  // dbname with expand_dbname=1 is how libpq takes a whole URI; the keys after it would
  // override the URI's, so only a fallback application name follows.
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {settings.url.c_str(), "stoa", nullptr};
  pg_conn* raw = PQconnectStartParams(keys, values, 1);
  if (raw == nullptr) co_return Error{Errc::internal, "libpq could not allocate a connection"};
  std::unique_ptr<Connection> connection(new Connection(context, raw));
  if (PQstatus(raw) == CONNECTION_BAD) {
    co_return Error{Errc::unavailable,
                    "cannot connect to PostgreSQL: " + one_line(PQerrorMessage(raw))};
  }
  {
    StatementGuard guard(*connection, deadline, true);
    PostgresPollingStatusType status = PGRES_POLLING_WRITING;
    bool connected = false;
    while (!connected) {
      if (status == PGRES_POLLING_OK) {
        connected = true;
        continue;
      }
      if (status == PGRES_POLLING_FAILED) {
        co_return Error{Errc::unavailable,
                        "cannot connect to PostgreSQL: " + one_line(PQerrorMessage(raw))};
      }
      // libpq may open a new socket while connecting (another host, a retry without TLS),
      // so the descriptor is taken afresh each round.
      if (connection->socket_.is_open()) connection->socket_.release();
      error_code ec;
      connection->socket_.assign(PQsocket(raw), ec);
      if (ec)
        co_return Error{Errc::unavailable, "cannot watch the PostgreSQL socket: " + ec.message()};
      auto waited = co_await connection->wait(status == PGRES_POLLING_WRITING);
      if (!waited) {
        const Error& error = waited.error();
        co_return Error{error.code, error.code == Errc::timeout
                                        ? std::string("connecting to PostgreSQL timed out")
                                        : error.message};
      }
      status = PQconnectPoll(raw);
    }
  }
  if (PQsetnonblocking(raw, 1) != 0) {
    co_return Error{Errc::internal, "cannot put the PostgreSQL connection in non-blocking mode"};
  }
  // The server's own bound on every statement: the backstop should a cancel request from
  // the client's timer not arrive.
  const std::string setup =
      "SET statement_timeout = " + std::to_string(settings.statement_timeout.count());
  auto set = co_await connection->simple(setup, deadline);
  if (!set) co_return set.error();
  co_return std::move(connection);
}

Awaitable<Status> Connection::wait(bool write) {
  auto [ec] = co_await socket_.async_wait(write ? asio::posix::stream_descriptor::wait_write
                                                : asio::posix::stream_descriptor::wait_read,
                                          kNoThrow);
  if (!ec) co_return Ok{};
  broken_ = true;
  if (ec == asio::error::operation_aborted) {
    if (timer_->expired) co_return Error{Errc::timeout, "PostgreSQL did not answer in time"};
    // The caller cancelled: the server stops the statement, the connection is given up.
    request_cancel();
    co_return Error{Errc::cancelled, "the statement was cancelled"};
  }
  co_return Error{Errc::unavailable, "PostgreSQL connection failed: " + ec.message()};
}

Awaitable<Status> Connection::flush() {
  for (;;) {
    const int pending = PQflush(conn_);
    if (pending == 0) co_return Ok{};
    if (pending < 0) co_return connection_error("sending to PostgreSQL failed");
    auto waited = co_await wait(true);
    if (!waited) co_return waited.error();
    // The server may be waiting for us to read before it reads more.
    if (PQconsumeInput(conn_) == 0) co_return connection_error("reading from PostgreSQL failed");
  }
}

Awaitable<Result<PgResult>> Connection::next_result() {
  for (;;) {
    if (PQisBusy(conn_) == 0) co_return PgResult(PQgetResult(conn_));
    auto waited = co_await wait(false);
    if (!waited) co_return waited.error();
    if (PQconsumeInput(conn_) == 0) co_return connection_error("reading from PostgreSQL failed");
  }
}

Awaitable<Result<Rows>> Connection::finish_command(std::string_view name) {
  std::optional<Error> error;
  Rows rows;
  for (;;) {
    PgResult result;
    if (PQisBusy(conn_) == 0) {
      result = PgResult(PQgetResult(conn_));  // already here: no coroutine to wait in
    } else {
      auto next = co_await next_result();
      if (!next) co_return next.error();
      result = std::move(next).value();
    }
    if (!result) break;
    switch (PQresultStatus(result.get())) {
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK: {
        auto decoded = decode_rows(result.get());
        if (!decoded) {
          if (!error) error = decoded.error();
        } else {
          rows = std::move(decoded).value();
        }
        break;
      }
      case PGRES_PIPELINE_ABORTED:
        if (!error)
          error = Error{Errc::aborted,
                        "statement " + std::string(name) + " was skipped: an earlier one failed"};
        break;
      case PGRES_FATAL_ERROR:
        if (!error) {
          error = PQstatus(conn_) == CONNECTION_BAD
                      ? connection_error("PostgreSQL closed the connection")
                      : error_from_result(result.get(), name);
        }
        break;
      case PGRES_PIPELINE_SYNC:
        co_return Error{Errc::internal, "unexpected pipeline sync"};
      default:
        if (!error) {
          error = Error{Errc::invalid_argument, "statement " + std::string(name) +
                                                    ": COPY and replication are not supported"};
        }
        broken_ = true;  // a COPY in progress cannot be left cleanly
        break;
    }
    // In pipeline mode each command's results end with one null; outside it, too.
  }
  if (PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
  if (error) co_return *error;
  co_return rows;
}

const std::string* Connection::prepared_statement(Query query) const {
  auto it = prepared_.find(query.name);
  if (it == prepared_.end() || it->second.second != query.sql) return nullptr;
  return &it->second.first;
}

Awaitable<Result<std::string>> Connection::prepare(Query query) {
  auto it = prepared_.find(query.name);
  if (it != prepared_.end()) {
    if (it->second.second == query.sql) co_return it->second.first;
    co_return reused_name(query.name);
  }
  std::string statement = "stoa_" + std::to_string(++next_statement_);
  const std::string sql(query.sql);
  if (PQsendPrepare(conn_, statement.c_str(), sql.c_str(), 0, nullptr) == 0) {
    co_return connection_error("sending to PostgreSQL failed");
  }
  auto flushed = co_await flush();
  if (!flushed) co_return flushed.error();
  auto done = co_await finish_command(query.name);
  if (!done) co_return done.error();
  prepared_[std::string(query.name)] = {statement, sql};
  co_return statement;
}

Awaitable<Result<Rows>> Connection::execute(Query query, const Params& params,
                                            Clock::time_point deadline) {
  if (broken_) co_return Error{Errc::unavailable, "the PostgreSQL connection is broken"};
  StatementGuard guard(*this, deadline);
  // The hot path (prepared already, everything sent at once, the answer awaited) runs no
  // coroutine but finish_command's wait: each nested coroutine costs a frame and a resume.
  const std::string* statement = prepared_statement(query);
  Result<std::string> prepared = std::string();
  if (statement == nullptr) {
    prepared = co_await prepare(query);
    if (!prepared) co_return prepared.error();
    statement = &*prepared;
  }
  EncodedParams& encoded = scratch_;  // reused: no allocation per statement once warm
  auto valid = encode_params(params, encoded);
  if (!valid) co_return valid.error();
  if (PQsendQueryPrepared(conn_, statement->c_str(), static_cast<int>(params.size()),
                          encoded.values.data(), encoded.lengths.data(), encoded.formats.data(),
                          0) == 0) {
    co_return connection_error("sending to PostgreSQL failed");
  }
  const int pending = PQflush(conn_);
  if (pending < 0) co_return connection_error("sending to PostgreSQL failed");
  if (pending > 0) {
    auto flushed = co_await flush();
    if (!flushed) co_return flushed.error();
  }
  co_return co_await finish_command(query.name);
}

Awaitable<Result<std::vector<Rows>>> Connection::pipeline(
    const std::vector<std::pair<Query, Params>>& statements, Clock::time_point deadline,
    const std::string& prelude) {
  if (broken_) co_return Error{Errc::unavailable, "the PostgreSQL connection is broken"};
  StatementGuard guard(*this, deadline);
  std::vector<EncodedParams> encoded(statements.size());
  for (std::size_t i = 0; i < statements.size(); ++i) {
    auto valid = encode_params(statements[i].second, encoded[i]);
    if (!valid) co_return valid.error();
    const Query& query = statements[i].first;
    auto it = prepared_.find(query.name);
    if (it != prepared_.end() && it->second.second != query.sql) co_return reused_name(query.name);
  }
  if (PQenterPipelineMode(conn_) == 0) {
    co_return Error{Errc::internal, "cannot enter PostgreSQL pipeline mode"};
  }
  // What was sent, in order: a prepare (index into `statements`, true) or an execute.
  std::vector<std::pair<std::size_t, bool>> sent;
  std::unordered_map<std::string, std::string> preparing;  // query name -> statement
  bool send_failed = false;
  if (!prelude.empty()) {
    // Extended protocol without parameters: pipeline mode has no simple-query protocol.
    send_failed =
        PQsendQueryParams(conn_, prelude.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 0;
  }
  for (std::size_t i = 0; i < statements.size() && !send_failed; ++i) {
    const auto& [query, params] = statements[i];
    const std::string name(query.name);
    std::string statement;
    auto it = prepared_.find(name);
    if (it != prepared_.end() && it->second.second == query.sql) {
      statement = it->second.first;
    } else if (auto p = preparing.find(name); p != preparing.end()) {
      statement = p->second;
    } else {
      statement = "stoa_" + std::to_string(++next_statement_);
      const std::string sql(query.sql);
      send_failed = PQsendPrepare(conn_, statement.c_str(), sql.c_str(), 0, nullptr) == 0;
      preparing[name] = statement;
      sent.emplace_back(i, true);
    }
    send_failed = send_failed ||
                  PQsendQueryPrepared(conn_, statement.c_str(), static_cast<int>(params.size()),
                                      encoded[i].values.data(), encoded[i].lengths.data(),
                                      encoded[i].formats.data(), 0) == 0;
    sent.emplace_back(i, false);
  }
  if (send_failed || PQpipelineSync(conn_) == 0) {
    broken_ = true;
    co_return connection_error("sending to PostgreSQL failed");
  }
  auto flushed = co_await flush();
  if (!flushed) co_return flushed.error();

  std::optional<Error> error;
  if (!prelude.empty()) {
    auto done = co_await finish_command("begin");
    if (broken_) co_return done ? connection_error("PostgreSQL connection failed") : done.error();
    if (!done) error = done.error();
  }
  std::vector<Rows> results;
  results.reserve(statements.size());
  for (const auto& [index, is_prepare] : sent) {
    const auto& query = statements[index].first;
    auto done = co_await finish_command(query.name);
    if (broken_) co_return done ? connection_error("PostgreSQL connection failed") : done.error();
    if (!done) {
      // The first failure is the one to report; the statements after it were skipped.
      if (!error) error = done.error();
      continue;
    }
    if (is_prepare) {
      prepared_[std::string(query.name)] = {preparing[std::string(query.name)],
                                            std::string(query.sql)};
    } else {
      results.push_back(std::move(done).value());
    }
  }
  auto sync = co_await next_result();
  if (!sync) co_return sync.error();
  if (!*sync || PQresultStatus(sync->get()) != PGRES_PIPELINE_SYNC) {
    broken_ = true;
    co_return Error{Errc::protocol, "PostgreSQL pipeline ended without its sync point"};
  }
  if (PQexitPipelineMode(conn_) == 0) {
    broken_ = true;
    co_return Error{Errc::internal, "cannot leave PostgreSQL pipeline mode"};
  }
  if (error) co_return *error;
  co_return results;
}

Awaitable<Result<std::vector<Rows>>> Connection::simple(const std::string& sql,
                                                        Clock::time_point deadline,
                                                        std::string_view name) {
  if (broken_) co_return Error{Errc::unavailable, "the PostgreSQL connection is broken"};
  StatementGuard guard(*this, deadline);
  if (PQsendQuery(conn_, sql.c_str()) == 0)
    co_return connection_error("sending to PostgreSQL failed");
  auto flushed = co_await flush();
  if (!flushed) co_return flushed.error();
  std::optional<Error> error;
  std::vector<Rows> results;
  for (;;) {
    PgResult result;
    if (PQisBusy(conn_) == 0) {
      result = PgResult(PQgetResult(conn_));  // already here: no coroutine to wait in
    } else {
      auto next = co_await next_result();
      if (!next) co_return next.error();
      result = std::move(next).value();
    }
    if (!result) break;
    const auto status = PQresultStatus(result.get());
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      auto decoded = decode_rows(result.get());
      if (decoded) {
        results.push_back(std::move(decoded).value());
      } else if (!error) {
        error = decoded.error();
      }
    } else if (!error) {
      error = PQstatus(conn_) == CONNECTION_BAD
                  ? connection_error("PostgreSQL closed the connection")
                  : error_from_result(result.get(), name);
    }
  }
  if (PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
  if (error) co_return *error;
  co_return results;
}

bool Connection::in_transaction() const {
  return PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

bool Connection::reusable(bool peek) {
  if (broken_ || PQstatus(conn_) != CONNECTION_OK || in_transaction()) return false;
  if (PQpipelineStatus(conn_) != PQ_PIPELINE_OFF) return false;
  if (!peek) return true;
  // An idle connection has nothing to read; bytes or an end of stream mean the server said
  // something (a shutdown notice) or went away. libpq takes them and updates its status.
  char byte = 0;
  const ssize_t n = ::recv(PQsocket(conn_), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) return false;
  return n > 0 && PQisBusy(conn_) == 0;
}

void Connection::request_cancel() {
  PGcancel* cancel = PQgetCancel(conn_);
  if (cancel == nullptr) return;
  // PQcancel connects to the server and waits for it to accept: never on the loop thread.
  std::thread([cancel] {
    char message[256];
    PQcancel(cancel, message, sizeof message);
    PQfreeCancel(cancel);
  }).detach();
}

Error Connection::reused_name(std::string_view name) {
  // Metrics, spans and prepared statements are per name: one name, one SQL text.
  return Error{Errc::invalid_argument,
               "query name " + quote_for_message(name) + " is already used for another SQL text"};
}

Error Connection::connection_error(std::string_view what) const {
  // Only ever called on a connection that just failed.
  const_cast<Connection*>(this)->broken_ = true;
  std::string detail = one_line(PQerrorMessage(conn_));
  return Error{Errc::unavailable, std::string(what) + (detail.empty() ? "" : ": " + detail)};
}

}  // namespace stoa::sql::pg
