#include "data/cache/redis_cache.h"

#include <mutex>
#include <utility>

#include "data/cache/atomics.h"
#include "data/cache/backend.h"

namespace stoa::cache {

namespace {

using std::chrono::milliseconds;

// Command names as named constants: GCC 12 can fail on string literals in coroutines.
constexpr std::string_view kGet = "GET";
constexpr std::string_view kSet = "SET";
constexpr std::string_view kPx = "PX";
constexpr std::string_view kNx = "NX";
constexpr std::string_view kDel = "DEL";
constexpr std::string_view kMget = "MGET";
constexpr std::string_view kPing = "PING";
constexpr std::string_view kEval = "EVAL";
constexpr std::string_view kEvalSha = "EVALSHA";
constexpr std::string_view kScript = "SCRIPT";
constexpr std::string_view kLoad = "LOAD";
constexpr std::string_view kOneKey = "1";
constexpr std::string_view kUnlockName = "unlock";
constexpr std::string_view kExtendName = "extend_lock";

Error reply_error(const RedisReply& reply) {
  return Error{Errc::unavailable, "Redis answered " + quote_for_message(reply.text, 120)};
}

Error unexpected(const RedisReply& reply, std::string_view command) {
  if (reply.is_error()) return reply_error(reply);
  return Error{Errc::protocol, "unexpected Redis reply to " + std::string(command)};
}

// GCRA in one script, on Redis's clock so that every process agrees. KEYS[1]: the limiter;
// ARGV: emission interval (µs), burst, cost. Returns {allowed, remaining, retry_after_us,
// reset_after_us}. Times are microseconds since the epoch: below 2^53, exact in Lua numbers.
constexpr std::string_view kGcraScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local new_tat = tat + interval * cost
local capacity = interval * burst
local diff = new_tat - now
if diff > capacity then
  return {0, 0, math.ceil(diff - capacity), math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.max(1, math.ceil(diff / 1000)))
return {1, math.floor((capacity - diff) / interval), 0, math.ceil(diff)}
)lua";

// KEYS[1]: the lock; ARGV[1]: the owner. Deletes only the owner's lock.
constexpr std::string_view kUnlockScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

// KEYS[1]: the lock; ARGV[1]: the owner, ARGV[2]: the new TTL in ms (0: none).
constexpr std::string_view kExtendScript = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
redis.call('PERSIST', KEYS[1])
return 1
)lua";

// KEYS[1]: the counter; ARGV[1]: delta, ARGV[2]: TTL in ms for a new counter (0: none).
constexpr std::string_view kIncrementScript = R"lua(
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return v
)lua";

// KEYS[1]: the counter; ARGV[1]: delta, ARGV[2]: TTL in ms for a new counter (0: none),
// ARGV[3]: ms the window must still run at least (0: no such floor). Returns {count, remaining
// ms (0: no expiry)}. One script, so the count and the window's end are one decision.
constexpr std::string_view kWindowScript = R"lua(
local delta = tonumber(ARGV[1])
if delta <= 0 and redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local v = redis.call('INCRBY', KEYS[1], delta)
local left = redis.call('PTTL', KEYS[1])
if left == -1 and tonumber(ARGV[2]) > 0 then
  left = tonumber(ARGV[2])
  redis.call('PEXPIRE', KEYS[1], left)
end
local floor = tonumber(ARGV[3])
if left >= 0 and left < floor then
  left = floor
  redis.call('PEXPIRE', KEYS[1], left)
end
if left < 0 then left = 0 end
return {v, left}
)lua";

// A Lua script run by EVALSHA; when Redis does not know it (NOSCRIPT: first use, or after a
// restart or SCRIPT FLUSH) it is loaded again and this call runs by EVAL.
class Script {
 public:
  explicit Script(std::string_view source) : source_(source) {}

  Awaitable<Result<RedisReply>> run(RedisClient& client, const std::string& key,
                                    std::vector<std::string> args) const {
    std::string sha = this->sha();
    if (!sha.empty()) {
      std::vector<std::string> command{std::string(kEvalSha), sha, std::string(kOneKey), key};
      command.insert(command.end(), args.begin(), args.end());
      Result<RedisReply> reply = co_await client.command(command);
      const bool noscript =
          reply.ok() && reply->is_error() && reply->text.rfind("NOSCRIPT", 0) == 0;
      if (!noscript) co_return reply;
    }
    Result<RedisReply> loaded = co_await client.command(kScript, kLoad, source_);
    if (!loaded.ok()) co_return loaded.error();
    if (loaded->type == RedisReply::Type::string) set_sha(loaded->text);
    std::vector<std::string> command{std::string(kEval), std::string(source_), std::string(kOneKey),
                                     key};
    command.insert(command.end(), args.begin(), args.end());
    co_return co_await client.command(command);
  }

 private:
  std::string sha() const {
    std::lock_guard lock(mutex_);
    return sha_;
  }
  void set_sha(std::string sha) const {
    std::lock_guard lock(mutex_);
    sha_ = std::move(sha);
  }

  std::string_view source_;
  mutable std::mutex mutex_;
  mutable std::string sha_;
};

class RedisAtomics final : public Atomics {
 public:
  explicit RedisAtomics(RedisClient& client)
      : client_(client),
        gcra_(kGcraScript),
        unlock_(kUnlockScript),
        extend_(kExtendScript),
        increment_(kIncrementScript),
        window_(kWindowScript) {}

  Awaitable<Result<RateDecision>> rate_limit(std::string key, RateLimit limit,
                                             std::int64_t cost) override {
    if (Status ok = check_rate_limit(limit, cost); !ok) co_return ok.error();
    const double interval_us =
        static_cast<double>(
            std::chrono::duration_cast<std::chrono::microseconds>(limit.period).count()) /
        static_cast<double>(limit.rate);
    std::vector<std::string> args{std::to_string(interval_us), std::to_string(limit.burst),
                                  std::to_string(cost)};
    Result<RedisReply> reply = co_await gcra_.run(client_, key, std::move(args));
    if (!reply.ok()) co_return reply.error();
    if (reply->type != RedisReply::Type::array || reply->elements.size() != 4) {
      co_return unexpected(*reply, "the rate limiter");
    }
    const auto& e = reply->elements;
    RateDecision d;
    d.allowed = e[0].integer == 1;
    d.remaining = e[1].integer;
    d.retry_after = milliseconds((e[2].integer + 999) / 1000);
    d.reset_after = milliseconds((e[3].integer + 999) / 1000);
    co_return d;
  }

  Awaitable<Result<bool>> try_lock(std::string key, std::string owner, milliseconds ttl) override {
    const std::string px = std::to_string(ttl.count());
    std::vector<std::string> command{std::string(kSet), key, owner, std::string(kNx)};
    if (ttl.count() > 0) {
      command.emplace_back(kPx);
      command.push_back(px);
    }
    Result<RedisReply> reply = co_await client_.command(command);
    if (!reply.ok()) co_return reply.error();
    if (reply->type == RedisReply::Type::status) co_return true;
    if (reply->type == RedisReply::Type::nil) co_return false;
    co_return unexpected(*reply, "SET NX");
  }

  Awaitable<Result<bool>> unlock(std::string key, std::string owner) override {
    std::vector<std::string> args;
    args.push_back(owner);
    Result<RedisReply> reply = co_await unlock_.run(client_, key, std::move(args));
    co_return integer_is_one(reply, kUnlockName);
  }

  Awaitable<Result<bool>> extend_lock(std::string key, std::string owner,
                                      milliseconds ttl) override {
    std::vector<std::string> args{owner, std::to_string(std::max<std::int64_t>(ttl.count(), 0))};
    Result<RedisReply> reply = co_await extend_.run(client_, key, std::move(args));
    co_return integer_is_one(reply, kExtendName);
  }

  Awaitable<Result<std::int64_t>> increment(std::string key, std::int64_t delta,
                                            milliseconds ttl) override {
    std::vector<std::string> args{std::to_string(delta),
                                  std::to_string(std::max<std::int64_t>(ttl.count(), 0))};
    Result<RedisReply> reply = co_await increment_.run(client_, key, std::move(args));
    if (!reply.ok()) co_return reply.error();
    if (reply->type != RedisReply::Type::integer) co_return unexpected(*reply, "INCRBY");
    co_return reply->integer;
  }

  Awaitable<Result<WindowCount>> count_in_window(std::string key, std::int64_t delta,
                                                 milliseconds ttl, milliseconds at_least) override {
    std::vector<std::string> args{std::to_string(delta),
                                  std::to_string(std::max<std::int64_t>(ttl.count(), 0)),
                                  std::to_string(std::max<std::int64_t>(at_least.count(), 0))};
    Result<RedisReply> reply = co_await window_.run(client_, key, std::move(args));
    if (!reply.ok()) co_return reply.error();
    if (reply->type != RedisReply::Type::array || reply->elements.size() != 2 ||
        reply->elements[0].type != RedisReply::Type::integer ||
        reply->elements[1].type != RedisReply::Type::integer) {
      co_return unexpected(*reply, "the window counter");
    }
    co_return WindowCount{.count = reply->elements[0].integer,
                          .remaining = milliseconds(reply->elements[1].integer)};
  }

  Awaitable<Result<std::int64_t>> counter(std::string key) override {
    Result<RedisReply> reply = co_await client_.command(kGet, key);
    if (!reply.ok()) co_return reply.error();
    if (reply->type == RedisReply::Type::nil) co_return std::int64_t{0};
    if (reply->type != RedisReply::Type::string) co_return unexpected(*reply, "GET");
    try {
      std::size_t used = 0;
      const std::int64_t v = std::stoll(reply->text, &used);
      if (used == reply->text.size()) co_return v;
    } catch (const std::exception&) {
    }
    co_return Error{Errc::conflict, "the counter holds something other than an integer"};
  }

 private:
  static Result<bool> integer_is_one(const Result<RedisReply>& reply, std::string_view what) {
    if (!reply.ok()) return reply.error();
    if (reply->type != RedisReply::Type::integer) return unexpected(reply.value(), what);
    return reply->integer == 1;
  }

  RedisClient& client_;
  Script gcra_;
  Script unlock_;
  Script extend_;
  Script increment_;
  Script window_;
};

}  // namespace

RedisCache::RedisCache(std::shared_ptr<RedisClient> client)
    : client_(std::move(client)), atomics_(std::make_unique<RedisAtomics>(*client_)) {}

RedisCache::~RedisCache() = default;

Atomics& RedisCache::atomics() {
  return *atomics_;
}

Awaitable<Result<std::optional<std::string>>> RedisCache::try_get(std::string key) {
  Result<RedisReply> reply = co_await client_->command(kGet, key);
  if (!reply.ok()) {
    count_error();
    co_return reply.error();
  }
  if (reply->type == RedisReply::Type::string) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    co_return std::optional<std::string>(std::move(reply->text));
  }
  if (reply->type == RedisReply::Type::nil) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    co_return std::optional<std::string>();
  }
  count_error();
  co_return unexpected(*reply, "GET");
}

Awaitable<std::optional<std::string>> RedisCache::get(std::string key) {
  Result<std::optional<std::string>> r = co_await try_get(std::move(key));
  if (!r.ok()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    co_return std::nullopt;
  }
  co_return std::move(r).value();
}

Awaitable<void> RedisCache::set(std::string key, std::string value, milliseconds ttl) {
  // Not a conditional expression around co_await: GCC 12 miscompiles some of those.
  const std::string px = std::to_string(ttl.count());
  bool ok = false;
  if (ttl.count() > 0) {
    Result<RedisReply> reply = co_await client_->command(kSet, key, value, kPx, px);
    ok = reply.ok() && reply->type == RedisReply::Type::status;
  } else {
    Result<RedisReply> reply = co_await client_->command(kSet, key, value);
    ok = reply.ok() && reply->type == RedisReply::Type::status;
  }
  if (!ok) count_error();
}

Awaitable<bool> RedisCache::erase(std::string key) {
  Result<RedisReply> reply = co_await client_->command(kDel, key);
  if (!reply.ok() || reply->type != RedisReply::Type::integer) {
    count_error();
    co_return false;
  }
  co_return reply->integer > 0;
}

Awaitable<std::vector<std::optional<std::string>>> RedisCache::get_many(
    std::vector<std::string> keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  if (keys.empty()) co_return out;
  keys.insert(keys.begin(), std::string(kMget));
  Result<RedisReply> reply = co_await client_->command(keys);
  if (!reply.ok() || reply->type != RedisReply::Type::array ||
      reply->elements.size() != out.size()) {
    count_error();
    misses_.fetch_add(out.size(), std::memory_order_relaxed);
    co_return out;
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    RedisReply& e = reply->elements[i];
    if (e.type == RedisReply::Type::string) {
      out[i] = std::move(e.text);
      hits_.fetch_add(1, std::memory_order_relaxed);
    } else {
      misses_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  co_return out;
}

Stats RedisCache::stats() const {
  Stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  return s;
}

Awaitable<Status> RedisCache::ping() {
  Result<RedisReply> reply = co_await client_->command(kPing);
  if (!reply.ok()) co_return reply.error();
  if (reply->is_error()) co_return reply_error(*reply);
  co_return Ok{};
}

namespace {
// Redis is not contacted here: a cache on an unreachable Redis opens, and serves misses until
// Redis answers.
[[maybe_unused]] const bool registered =
    register_backend("redis", [](const CacheOptions& options) -> Result<std::shared_ptr<Cache>> {
      Result<RedisOptions> r = parse_redis_url(options.url);
      if (!r) return r.error();
      r->pool_size = options.pool_size;
      r->connect_timeout = options.connect_timeout;
      r->command_timeout = options.command_timeout;
      r->reconnect_interval = options.reconnect_interval;
      return std::shared_ptr<Cache>(
          std::make_shared<RedisCache>(std::make_shared<RedisClient>(std::move(r).value())));
    });
}  // namespace

}  // namespace stoa::cache
