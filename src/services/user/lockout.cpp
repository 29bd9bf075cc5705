#include "services/user/lockout.h"

#include <algorithm>

#include "data/cache/atomics.h"
#include "observability/log.h"
#include "runtime/retry.h"

namespace stoa::user {
namespace {

// Every attempt is counted (before its check); a success gives its own back.
std::string attempts_key(const std::string& kind, const std::string& key) {
  return "user:login-attempts:" + kind + ":" + key;
}

// The lock a refused attempt asks for: base_delay for the first refusal, doubling with each,
// at most max_delay — the runtime's backoff, with the refusals as its retries.
std::chrono::milliseconds delay_for(std::int64_t attempts, const LockoutPolicy& policy) {
  // Past 64 doublings every delay is the cap; the clamp keeps the count in range.
  const std::int64_t over = std::clamp<std::int64_t>(attempts - policy.threshold - 1, 0, 64);
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

Awaitable<std::optional<std::chrono::milliseconds>> Lockout::attempt(std::string account,
                                                                     std::string address) {
  auto by_account = co_await take("account", account, account_);
  if (by_account) co_return by_account;
  auto by_address = co_await take("address", std::move(address), address_);
  // Not checked after all: the account does not pay for what the address was refused.
  if (by_address) co_await give_back("account", std::move(account), account_);
  co_return by_address;
}

Awaitable<void> Lockout::succeeded(std::string account, std::string address) {
  auto& atomics = cache_->atomics();
  const std::string key = attempts_key("account", account);
  auto count = co_await atomics.counter(key);
  // Only a positive count is taken away, and a window that closed meanwhile is not reopened.
  if (count && *count > 0) (void)co_await atomics.count_in_window(key, -*count, account_.window);
  co_await give_back("address", std::move(address), address_);
}

Awaitable<std::optional<std::chrono::milliseconds>> Lockout::take(std::string kind, std::string key,
                                                                  const LockoutPolicy& policy) {
  auto& atomics = cache_->atomics();
  const std::string counter = attempts_key(kind, key);
  // Count first, decide on the count this call alone saw: concurrent attempts cannot all see
  // the same count below the threshold.
  auto taken = co_await atomics.count_in_window(counter, 1, policy.window);
  if (!taken) {
    log_unavailable(taken.error());
    co_return std::nullopt;
  }
  if (taken->count <= policy.threshold) co_return std::nullopt;
  // Refused: hold the lock at least this refusal's delay (never shortening the window), and
  // tell the caller when it ends.
  auto held =
      co_await atomics.count_in_window(counter, 0, policy.window, delay_for(taken->count, policy));
  if (held && held->remaining > taken->remaining) co_return held->remaining;
  co_return std::max(taken->remaining, delay_for(taken->count, policy));
}

Awaitable<void> Lockout::give_back(std::string kind, std::string key, const LockoutPolicy& policy) {
  auto given =
      co_await cache_->atomics().count_in_window(attempts_key(kind, key), -1, policy.window);
  if (!given) log_unavailable(given.error());
}

}  // namespace stoa::user
