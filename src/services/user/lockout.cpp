#include "services/user/lockout.h"

#include <algorithm>

#include "data/cache/atomics.h"
#include "observability/log.h"
#include "runtime/retry.h"

namespace stoa::user {
namespace {

std::string failures_key(const std::string& kind, const std::string& key) {
  return "user:login-failures:" + kind + ":" + key;
}
std::string lock_key(const std::string& kind, const std::string& key) {
  return "user:login-lock:" + kind + ":" + key;
}

// base_delay * 2^(failures - threshold), at most max_delay: the runtime's backoff, with the
// failures over the threshold as its retries.
std::chrono::milliseconds delay_for(std::int64_t failures, const LockoutPolicy& policy) {
  // Past 64 doublings every delay is the cap; the clamp keeps the count in range.
  const std::int64_t over = std::clamp<std::int64_t>(failures - policy.threshold, 0, 64);
  RetryPolicy backoff;
  backoff.initial_delay = policy.base_delay;
  backoff.max_delay = policy.max_delay;
  return backoff.base_delay(static_cast<std::uint32_t>(over) + 1);
}

void log_unavailable(const Error& error) {
  obs::log(obs::Level::warn, "user", "login lockout skipped: the cache is unavailable",
           {{"error", error.message}});
}

}  // namespace

Lockout::Lockout(std::shared_ptr<cache::Cache> cache, LockoutPolicy account, LockoutPolicy address)
    : cache_(std::move(cache)), account_(account), address_(address) {}

Awaitable<std::optional<std::chrono::milliseconds>> Lockout::locked(std::string account,
                                                                    std::string address) {
  auto by_account = co_await check("account", std::move(account), account_);
  if (by_account) co_return by_account;
  co_return co_await check("address", std::move(address), address_);
}

Awaitable<void> Lockout::failed(std::string account, std::string address) {
  co_await count_failure("account", std::move(account), account_);
  co_await count_failure("address", std::move(address), address_);
}

Awaitable<void> Lockout::succeeded(std::string account) {
  auto& atomics = cache_->atomics();
  auto count = co_await atomics.counter(failures_key("account", account));
  if (count && *count > 0) {
    (void)co_await atomics.increment(failures_key("account", account), -*count, account_.window);
  }
}

Awaitable<std::optional<std::chrono::milliseconds>> Lockout::check(std::string kind,
                                                                   std::string key,
                                                                   const LockoutPolicy& policy) {
  auto& atomics = cache_->atomics();
  auto lock = co_await atomics.counter(lock_key(kind, key));
  if (!lock) {
    log_unavailable(lock.error());
    co_return std::nullopt;
  }
  if (*lock <= 0) co_return std::nullopt;
  auto failures = co_await atomics.counter(failures_key(kind, key));
  co_return delay_for(failures ? *failures : policy.threshold, policy);
}

Awaitable<void> Lockout::count_failure(std::string kind, std::string key,
                                       const LockoutPolicy& policy) {
  auto& atomics = cache_->atomics();
  auto failures = co_await atomics.increment(failures_key(kind, key), 1, policy.window);
  if (!failures) {
    log_unavailable(failures.error());
    co_return;
  }
  if (*failures < policy.threshold) co_return;
  // A lock that lives as long as this failure's delay: its counter expires with it.
  (void)co_await atomics.increment(lock_key(kind, key), 1, delay_for(*failures, policy));
}

}  // namespace stoa::user
