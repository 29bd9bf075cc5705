#pragma once
// A Redis client native to the event loop: Asio sockets, hiredis's RESP reader (inside the
// .cpp only), no thread per call.
//
// - Each io_context that issues commands gets its own set of `pool_size` connections, made on
//   first use; a coroutine's commands go to the connections of the io_context it runs on, so
//   a connection lives its whole life on one thread and needs no lock.
// - Commands issued together by concurrent coroutines are written together (automatic
//   pipelining): they go to the connection gathering the next write (up to 64 commands or
//   64 KiB; then the next connection, round robin). Replies are matched to commands in order,
//   and the commands answered by one read resume together.
// - Every command has a deadline (command_timeout). A connection whose oldest command passed
//   its deadline, or that failed, is closed: its commands fail, and it reconnects on the next
//   command once its backoff (reconnect_interval, doubling up to 32x) has passed. While a
//   connection is backing off, commands sent to it fail at once with Errc::unavailable.
//
// Thread-safety: command() may be called from any thread running an io_context with one
// thread. Destroy the client when its io_contexts no longer run (after EventLoop::run()).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/async.h"
#include "runtime/backend_url.h"
#include "runtime/error.h"

namespace stoa::cache {

struct RedisOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // with password: AUTH username password (Redis 6 ACLs)
  std::string password;  // empty: no AUTH
  int database = 0;      // SELECT when not 0
  std::size_t pool_size = 2;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{500};
  std::chrono::milliseconds reconnect_interval{100};
  // A reply larger than this is a protocol error (Redis's own bulk limit is 512 MiB).
  std::size_t max_reply_bytes = 512u << 20;
};

// redis://[[username]:password@]host[:port][/database]. Errc::invalid_argument names the URL
// (without its password) and what is wrong.
Result<RedisOptions> parse_redis_url(std::string_view url);
// The URL with any password replaced by "***", for messages (the runtime's one).
using ::stoa::redact_url;

struct RedisReply {
  enum class Type { string, status, error, integer, nil, array };
  Type type = Type::nil;
  std::string text;  // string, status, error
  std::int64_t integer = 0;
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::error; }
};

struct RedisClientStats {
  std::uint64_t commands = 0;     // replies received
  std::uint64_t writes = 0;       // socket writes: fewer than commands when pipelining
  std::uint64_t errors = 0;       // commands that failed: unreachable, timeout, protocol
  std::uint64_t connects = 0;     // connections established
  std::uint64_t disconnects = 0;  // connections closed after an error or a timeout
};

class RedisClient {
 public:
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends one command whose arguments are bulk strings (any bytes). The arguments are encoded
  // before this returns, so they need not outlive the call. A Redis error reply is a reply
  // (type error); an Error means the command did not complete: Errc::unavailable (cannot
  // connect, connection lost), Errc::timeout, Errc::protocol (the peer does not speak RESP).
  //   co_await client.command("SET", key, value);
  // (Separate arguments rather than a braced list: GCC 12 cannot keep a braced list's array
  // across co_await in a coroutine.)
  template <class... Args>
  requires(sizeof...(Args) > 0 &&
           (std::is_convertible_v<const Args&, std::string_view> &&
            ...)) Awaitable<Result<RedisReply>> command(const Args&... args) {
    const std::string_view parts[] = {std::string_view(args)...};
    return send(encode(parts, sizeof...(Args)));
  }
  Awaitable<Result<RedisReply>> command(const std::vector<std::string>& args);

  // RESP: an array of bulk strings.
  static std::string encode(const std::string_view* args, std::size_t count);

  RedisClientStats stats() const;
  const RedisOptions& options() const;
  // host:port, for messages.
  std::string address() const;

 private:
  struct Impl;
  Awaitable<Result<RedisReply>> send(std::string payload);
  std::shared_ptr<Impl> impl_;
};

}  // namespace stoa::cache
