#pragma once
// Login lockout with backoff, per account and per client address, on the cache's atomic
// counters (so it holds across processes that share Redis). After `threshold` failures within
// `window`, each further failure locks the key for base_delay * 2^(failures - threshold), at
// most max_delay; a success clears the account's count (not the address's: one good password
// does not excuse an address that is guessing at many accounts).
//
// When the cache is unreachable, logins are not locked out (fail open, logged): the password
// check itself still runs at argon2id's cost.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "data/cache/cache.h"
#include "runtime/async.h"

namespace stoa::user {

struct LockoutPolicy {
  std::int64_t threshold = 5;
  std::chrono::milliseconds window{15 * 60'000};
  std::chrono::milliseconds base_delay{1'000};
  std::chrono::milliseconds max_delay{15 * 60'000};
};

class Lockout {
 public:
  Lockout(std::shared_ptr<cache::Cache> cache, LockoutPolicy account, LockoutPolicy address);

  // How long the caller must wait, when the account or the address is locked now.
  Awaitable<std::optional<std::chrono::milliseconds>> locked(std::string account,
                                                             std::string address);
  Awaitable<void> failed(std::string account, std::string address);
  Awaitable<void> succeeded(std::string account);

 private:
  Awaitable<std::optional<std::chrono::milliseconds>> check(std::string kind, std::string key,
                                                            const LockoutPolicy& policy);
  Awaitable<void> count_failure(std::string kind, std::string key, const LockoutPolicy& policy);

  std::shared_ptr<cache::Cache> cache_;
  LockoutPolicy account_;
  LockoutPolicy address_;
};

}  // namespace stoa::user
