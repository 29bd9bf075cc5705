#include "data/cache/redis_client.h"

#include <hiredis/read.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <deque>
#include <mutex>
#include <utility>

#include "runtime/retry.h"

namespace stoa::cache {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ReplyHandler = asio::any_completion_handler<void(Result<RedisReply>)>;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kFeedSlice = 1024;
// A batch being gathered takes new commands up to these bounds; past them the next command
// goes to the next connection, so that a burst spreads over the pool.
constexpr std::size_t kMaxBatchCommands = 64;
// Elements (strings, integers, arrays, nils at any depth) in one reply.
constexpr std::size_t kMaxReplyElements = 1u << 20;
constexpr std::size_t kMaxBatchBytes = 64 * 1024;

void append_number(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

// hiredis's reader builds replies through these, straight into RedisReply: no intermediate
// redisReply objects. A nested element lives inside its parent's `elements` (hiredis fills
// them in index order, and a parent's vector does not grow while one of its elements is being
// filled), so only the root is allocated, and freed by free_reply, which hiredis calls for the
// root alone. Returning null makes hiredis fail the parse ("Out of memory").

// Elements the reply being parsed on this thread may still have: a peer announcing an array of
// two billion elements gets an error, not an allocation. Set around redisReaderGetReply.
thread_local std::size_t* t_reply_budget = nullptr;

RedisReply* reply_slot(const redisReadTask* task) {
  if (t_reply_budget != nullptr) {
    if (*t_reply_budget == 0) return nullptr;
    --*t_reply_budget;
  }
  if (task->parent != nullptr) {
    auto* parent = static_cast<RedisReply*>(task->parent->obj);
    if (static_cast<std::size_t>(task->idx) != parent->elements.size()) return nullptr;
    return &parent->elements.emplace_back();
  }
  return new RedisReply();
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  RedisReply* r = reply_slot(task);
  if (r == nullptr) return nullptr;
  r->type = task->type == REDIS_REPLY_ERROR    ? RedisReply::Type::error
            : task->type == REDIS_REPLY_STATUS ? RedisReply::Type::status
                                               : RedisReply::Type::string;
  r->text.assign(str, len);
  return r;
}

void* create_array(const redisReadTask* task, int elements) {
  // Grown as elements arrive; refused when more are announced than the budget allows.
  const std::size_t announced = static_cast<std::size_t>(std::max(elements, 0));
  if (t_reply_budget != nullptr && announced > *t_reply_budget) return nullptr;
  RedisReply* r = reply_slot(task);
  if (r == nullptr) return nullptr;
  r->type = RedisReply::Type::array;
  r->elements.reserve(std::min<std::size_t>(announced, 4096));
  return r;
}

void* create_integer(const redisReadTask* task, long long value) {
  RedisReply* r = reply_slot(task);
  if (r == nullptr) return nullptr;
  r->type = RedisReply::Type::integer;
  r->integer = value;
  return r;
}

void* create_nil(const redisReadTask* task) {
  RedisReply* r = reply_slot(task);
  if (r == nullptr) return nullptr;
  r->type = RedisReply::Type::nil;
  return r;
}

void free_reply(void* reply) {
  delete static_cast<RedisReply*>(reply);
}

redisReplyObjectFunctions reply_functions{create_string, create_array, create_integer, create_nil,
                                          free_reply};

std::string encode_all(const std::vector<std::string>& args) {
  std::vector<std::string_view> parts(args.begin(), args.end());
  return RedisClient::encode(parts.data(), parts.size());
}

Error make_error(Errc code, std::string message) {
  return Error{code, std::move(message)};
}

std::string parse_error_text(const redisReader* reader) {
  return quote_for_message(std::string_view(reader->errstr), 100);
}

}  // namespace

// Counters shared by every connection of one client.
struct Counters {
  std::atomic<std::uint64_t> commands{0};
  std::atomic<std::uint64_t> writes{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> connects{0};
  std::atomic<std::uint64_t> disconnects{0};
};

// One TCP connection to Redis, used only from the thread of its io_context.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::any_io_executor executor, const RedisOptions& options,
             std::shared_ptr<Counters> counters)
      : executor_(executor),
        options_(options),
        counters_(std::move(counters)),
        socket_(executor),
        resolver_(executor),
        connect_timer_(executor),
        watchdog_(executor) {}

  ~Connection() {
    if (reader_) redisReaderFree(reader_);
  }

  // Whether commands wait to be written: a command sent now joins their write.
  bool gathering() const {
    return state_ == State::ready && gathered_ > 0 && gathered_ < kMaxBatchCommands &&
           out_.size() < kMaxBatchBytes;
  }
  bool failed() const { return state_ == State::failed; }

  // Whether a command sent now would fail at once (backing off after a failure).
  bool backing_off(Clock::time_point now) const {
    return state_ == State::failed && now < retry_at_;
  }

  void submit(std::string payload, asio::any_io_executor caller, ReplyHandler handler) {
    const Clock::time_point now = Clock::now();
    if (backing_off(now)) {
      counters_->errors.fetch_add(1, std::memory_order_relaxed);
      complete(caller, std::move(handler), make_error(Errc::unavailable, last_error_));
      return;
    }
    if (state_ == State::idle || state_ == State::failed) start_connect();
    if (out_.empty()) {
      out_ = std::move(payload);
    } else {
      out_ += payload;
    }
    ++gathered_;
    waiting_.push_back(
        Pending{std::move(caller), std::move(handler), now + options_.command_timeout, false});
    if (!watching_) start_watchdog();
    if (state_ == State::ready && !writing_) start_writer();
  }

  // Fails everything and stops for good (the client is going away).
  void shutdown() {
    closed_ = true;
    fail(make_error(Errc::cancelled, "the Redis client was closed"), false);
  }

 private:
  enum class State { idle, connecting, ready, failed };

  struct Pending {
    asio::any_io_executor caller;  // where the command's coroutine resumes
    ReplyHandler handler;          // empty for the connection's own AUTH/SELECT
    Clock::time_point deadline;
    bool handshake = false;
  };

  static void complete(const asio::any_io_executor& caller, ReplyHandler handler,
                       Result<RedisReply> result) {
    if (!handler) return;
    asio::post(caller, asio::append(std::move(handler), std::move(result)));
  }

  std::string where() const { return options_.host + ":" + std::to_string(options_.port); }

  void start_connect() {
    state_ = State::connecting;
    ++generation_;
    if (reader_) redisReaderFree(reader_);
    reader_ = redisReaderCreateWithFunctions(&reply_functions);
    reply_budget_ = kMaxReplyElements;
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait([self = shared_from_this(), gen = generation_](auto ec) {
      if (ec || gen != self->generation_ || self->state_ != State::connecting) return;
      self->fail(
          make_error(Errc::timeout, "connecting to Redis at " + self->where() + " timed out"),
          true);
    });
    asio::co_spawn(executor_, connect(generation_), asio::detached);
  }

  Awaitable<void> connect(std::uint64_t gen) {
    auto self = shared_from_this();
    auto [rec, endpoints] = co_await resolver_.async_resolve(
        options_.host, std::to_string(options_.port), asio::as_tuple(asio::use_awaitable));
    if (gen != generation_) co_return;
    if (rec) {
      fail(make_error(Errc::unavailable, "cannot resolve Redis host " +
                                             quote_for_message(options_.host) + ": " +
                                             rec.message()),
           true);
      co_return;
    }
    auto [cec, endpoint] =
        co_await asio::async_connect(socket_, endpoints, asio::as_tuple(asio::use_awaitable));
    if (gen != generation_) co_return;
    if (cec) {
      fail(make_error(Errc::unavailable,
                      "cannot connect to Redis at " + where() + ": " + cec.message()),
           true);
      co_return;
    }
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    connect_timer_.cancel();
    counters_->connects.fetch_add(1, std::memory_order_relaxed);
    // AUTH and SELECT go first, ahead of the commands queued while connecting.
    std::string handshake;
    std::deque<Pending> first;
    const Clock::time_point deadline = Clock::now() + options_.command_timeout;
    if (!options_.password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!options_.username.empty()) auth.push_back(options_.username);
      auth.push_back(options_.password);
      handshake += encode_all(auth);
      first.push_back(Pending{executor_, ReplyHandler(), deadline, true});
    }
    if (options_.database != 0) {
      std::vector<std::string> select{"SELECT", std::to_string(options_.database)};
      handshake += encode_all(select);
      first.push_back(Pending{executor_, ReplyHandler(), deadline, true});
    }
    out_.insert(0, handshake);
    for (auto it = first.rbegin(); it != first.rend(); ++it) waiting_.push_front(std::move(*it));
    state_ = State::ready;
    backoff_.reset();
    asio::co_spawn(executor_, read(gen), asio::detached);
    if (!out_.empty() && !writing_) start_writer();
  }

  // The write starts from the back of the executor's queue, after the handlers queued now:
  // coroutines resumed by the same batch of replies add their next commands first, and all
  // go out in one write.
  void start_writer() {
    writing_ = true;
    asio::post(executor_, [self = shared_from_this(), gen = generation_] { self->flush(gen); });
  }

  void flush(std::uint64_t gen) {
    if (gen != generation_) return;
    if (out_.empty()) {
      writing_ = false;
      return;
    }
    sending_.swap(out_);
    out_.clear();
    gathered_ = 0;
    counters_->writes.fetch_add(1, std::memory_order_relaxed);
    asio::async_write(
        socket_, asio::buffer(sending_),
        [self = shared_from_this(), gen](boost::system::error_code ec, std::size_t) {
          if (gen != self->generation_) return;
          if (ec) {
            self->fail(make_error(Errc::unavailable, "lost the connection to Redis at " +
                                                         self->where() + ": " + ec.message()),
                       true);
            return;
          }
          self->sending_.clear();
          self->flush(gen);
        });
  }

  Awaitable<void> read(std::uint64_t gen) {
    auto self = shared_from_this();
    std::unique_ptr<char[]> buffer(new char[kReadChunk]);
    for (;;) {
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer.get(), kReadChunk),
                                                      asio::as_tuple(asio::use_awaitable));
      if (gen != generation_) co_return;
      if (ec) {
        fail(make_error(Errc::unavailable,
                        "lost the connection to Redis at " + where() + ": " + ec.message()),
             true);
        co_return;
      }
      // Fed in slices: hiredis moves its unread bytes to the front of its buffer after each
      // reply once 1 KiB was consumed, which is quadratic in the size of one feed.
      for (std::size_t at = 0; at < n; at += kFeedSlice) {
        const std::size_t len = std::min(kFeedSlice, n - at);
        if (redisReaderFeed(reader_, buffer.get() + at, len) != REDIS_OK) {
          fail(make_error(Errc::protocol, "Redis at " + where() + " sent a malformed reply: " +
                                              parse_error_text(reader_)),
               true);
          co_return;
        }
        const bool ok = drain_replies();
        deliver();
        if (!ok) co_return;
      }
      if (reader_->len - reader_->pos > options_.max_reply_bytes) {
        fail(make_error(Errc::protocol, "Redis at " + where() + " sent a reply over " +
                                            std::to_string(options_.max_reply_bytes) + " bytes"),
             true);
        co_return;
      }
    }
  }

  // Hands every complete reply to its command. False when the connection failed.
  bool drain_replies() {
    for (;;) {
      void* raw = nullptr;
      t_reply_budget = &reply_budget_;
      const int parsed = redisReaderGetReply(reader_, &raw);
      t_reply_budget = nullptr;
      if (parsed != REDIS_OK) {
        fail(make_error(Errc::protocol, "Redis at " + where() + " sent a malformed reply: " +
                                            parse_error_text(reader_)),
             true);
        return false;
      }
      if (raw == nullptr) return true;
      reply_budget_ = kMaxReplyElements;
      std::unique_ptr<RedisReply> reply(static_cast<RedisReply*>(raw));
      RedisReply converted = std::move(*reply);
      if (waiting_.empty()) {
        fail(make_error(Errc::protocol, "Redis at " + where() + " sent a reply to no command"),
             true);
        return false;
      }
      Pending pending = std::move(waiting_.front());
      waiting_.pop_front();
      counters_->commands.fetch_add(1, std::memory_order_relaxed);
      if (pending.handshake) {
        if (converted.is_error()) {
          fail(make_error(Errc::unavailable, "Redis at " + where() + " refused the connection: " +
                                                 quote_for_message(converted.text, 100)),
               true);
          return false;
        }
        continue;
      }
      if (pending.caller == executor_) {
        ready_.push_back(Ready{std::move(pending.handler), std::move(converted)});
      } else {
        complete(pending.caller, std::move(pending.handler), std::move(converted));
      }
    }
  }

  // Resumes the commands whose replies drain_replies() collected, from one posted function:
  // one queue operation per read instead of one per command. Their coroutines run on this
  // connection's io_context (checked in drain_replies), so invoking their handlers from a
  // function run by that context is how any Asio operation completes.
  void deliver() {
    if (ready_.empty()) return;
    // A shared_ptr: the function given to an any_io_executor must be copyable.
    auto batch = std::make_shared<std::vector<Ready>>(std::move(ready_));
    asio::post(executor_, [batch] {
      for (Ready& r : *batch) std::move(r.handler)(Result<RedisReply>(std::move(r.reply)));
    });
    ready_.clear();
  }

  // One watchdog per connection while commands wait: it wakes at the oldest command's
  // deadline. A reply cannot be skipped on a RESP connection, so a late reply fails the
  // connection and everything on it.
  void start_watchdog() {
    watching_ = true;
    asio::co_spawn(executor_, watch(), asio::detached);
  }

  Awaitable<void> watch() {
    auto self = shared_from_this();
    while (!waiting_.empty() && !closed_) {
      const Clock::time_point deadline = waiting_.front().deadline;
      if (deadline <= Clock::now()) {
        fail(
            make_error(Errc::timeout, "Redis at " + where() + " did not answer within " +
                                          std::to_string(options_.command_timeout.count()) + " ms"),
            true);
        break;
      }
      watchdog_.expires_at(deadline);
      co_await watchdog_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    watching_ = false;
  }

  // Closes the socket and fails every waiting command with `error`. With `backoff`, commands
  // fail at once until the backoff passed; then the next command reconnects.
  void fail(Error error, bool backoff) {
    ++generation_;
    if (state_ == State::ready) counters_->disconnects.fetch_add(1, std::memory_order_relaxed);
    state_ = backoff ? State::failed : State::idle;
    if (backoff) {
      retry_at_ = Clock::now() + *backoff_.next_delay();  // never nullopt: no limit
    }
    last_error_ = error.message;
    boost::system::error_code ignored;
    socket_.close(ignored);
    resolver_.cancel();
    connect_timer_.cancel();
    out_.clear();
    gathered_ = 0;
    writing_ = false;
    std::deque<Pending> failed;
    failed.swap(waiting_);
    for (Pending& p : failed) {
      if (!p.handler) continue;
      counters_->errors.fetch_add(1, std::memory_order_relaxed);
      complete(p.caller, std::move(p.handler), error);
    }
    watchdog_.cancel();
  }

  asio::any_io_executor executor_;
  const RedisOptions options_;
  std::shared_ptr<Counters> counters_;
  tcp::socket socket_;
  tcp::resolver resolver_;
  asio::steady_timer connect_timer_;
  asio::steady_timer watchdog_;
  redisReader* reader_ = nullptr;
  State state_ = State::idle;
  std::uint64_t generation_ = 0;                  // bumped on every (re)connect and failure
  std::string out_;                               // encoded commands not yet written
  std::size_t gathered_ = 0;                      // commands in out_
  std::size_t reply_budget_ = kMaxReplyElements;  // for the reply being parsed
  std::string sending_;          // the commands being written (only touched by flush)
  std::deque<Pending> waiting_;  // commands written or queued, in reply order
  struct Ready {
    ReplyHandler handler;
    RedisReply reply;
  };
  std::vector<Ready> ready_;  // replies parsed, their commands not yet resumed (deliver)
  bool writing_ = false;
  bool watching_ = false;
  bool closed_ = false;
  // reconnect_interval doubling up to 32x, for as long as it takes.
  Backoff backoff_{RetryPolicy{.initial_delay = options_.reconnect_interval,
                               .max_delay = options_.reconnect_interval * 32}};
  Clock::time_point retry_at_{};
  std::string last_error_;
};

// The connections of one io_context.
struct Pool {
  std::vector<std::shared_ptr<Connection>> connections;
  std::size_t current = 0;

  // Commands that arrive together go to one connection and are written together: the
  // connection of the batch being gathered, while there is one; otherwise the next connection
  // round robin, so that successive batches spread over the pool. Connections that back off
  // are skipped while another may work.
  Connection& pick() {
    Connection& open = *connections[current];
    if (open.gathering()) return open;
    for (std::size_t i = 0; i < connections.size(); ++i) {
      current = (current + 1) % connections.size();
      Connection& c = *connections[current];
      if (!c.failed() || !c.backing_off(Clock::now())) return c;
    }
    return *connections[current];
  }
};

struct RedisClient::Impl {
  explicit Impl(RedisOptions o) : options(std::move(o)), counters(std::make_shared<Counters>()) {
    options.pool_size = std::max<std::size_t>(options.pool_size, 1);
  }

  ~Impl() {
    for (auto& [context, pool] : pools) {
      for (auto& c : pool->connections) c->shutdown();
    }
  }

  Pool& pool_for(const asio::any_io_executor& executor) {
    const void* context = &asio::query(executor, asio::execution::context);
    // The pool of the calling thread's io_context, cached per thread.
    thread_local const Impl* cached_owner = nullptr;
    thread_local std::uint64_t cached_id = 0;
    thread_local const void* cached_context = nullptr;
    thread_local Pool* cached_pool = nullptr;
    if (cached_owner == this && cached_id == id && cached_context == context) return *cached_pool;
    std::lock_guard lock(mutex);
    Pool* found = nullptr;
    for (auto& [c, p] : pools) {
      if (c == context) found = p.get();
    }
    if (found == nullptr) {
      auto pool = std::make_unique<Pool>();
      for (std::size_t i = 0; i < options.pool_size; ++i) {
        pool->connections.push_back(std::make_shared<Connection>(executor, options, counters));
      }
      found = pool.get();
      pools.emplace_back(context, std::move(pool));
    }
    cached_owner = this;
    cached_id = id;
    cached_context = context;
    cached_pool = found;
    return *found;
  }

  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> ids{1};
    return ids.fetch_add(1);
  }

  RedisOptions options;
  std::shared_ptr<Counters> counters;
  const std::uint64_t id = next_id();  // tells a new client from a freed one at the same address
  std::mutex mutex;
  std::vector<std::pair<const void*, std::unique_ptr<Pool>>> pools;
};

RedisClient::RedisClient(RedisOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {}

RedisClient::~RedisClient() = default;

std::string RedisClient::encode(const std::string_view* args, std::size_t count) {
  std::size_t size = 16;
  for (std::size_t i = 0; i < count; ++i) size += args[i].size() + 16;
  std::string out;
  out.reserve(size);
  out += '*';
  append_number(out, count);
  out += "\r\n";
  for (std::size_t i = 0; i < count; ++i) {
    out += '$';
    append_number(out, args[i].size());
    out += "\r\n";
    out.append(args[i]);
    out += "\r\n";
  }
  return out;
}

Awaitable<Result<RedisReply>> RedisClient::command(const std::vector<std::string>& args) {
  std::vector<std::string_view> parts(args.begin(), args.end());
  return send(encode(parts.data(), parts.size()));
}

Awaitable<Result<RedisReply>> RedisClient::send(std::string payload) {
  auto executor = co_await asio::this_coro::executor;
  Connection& connection = impl_->pool_for(executor).pick();
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<RedisReply>)>(
      [&connection, &payload, &executor](auto handler) {
        // The handler's state comes from Asio's per-thread recycling allocator: it is made and
        // freed on this thread, once per command.
        connection.submit(std::move(payload), executor,
                          ReplyHandler(asio::bind_allocator(asio::recycling_allocator<void>(),
                                                            std::move(handler))));
      },
      asio::use_awaitable);
}

RedisClientStats RedisClient::stats() const {
  const Counters& c = *impl_->counters;
  return RedisClientStats{c.commands.load(), c.writes.load(), c.errors.load(), c.connects.load(),
                          c.disconnects.load()};
}

const RedisOptions& RedisClient::options() const {
  return impl_->options;
}

std::string RedisClient::address() const {
  return impl_->options.host + ":" + std::to_string(impl_->options.port);
}

}  // namespace stoa::cache
