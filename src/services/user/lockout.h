#pragma once
// Login lockout, per account and per client address, on the cache's window counters (so it
// holds across processes that share Redis).
//
// Each attempt is counted before its password is checked, in one atomic step that also decides
// (count_in_window): an attempt whose count is above `threshold` in the window is refused
// without checking the password. So at most `threshold` passwords are checked per key and
// window, however many requests arrive at once: checking first and counting after would let
// every concurrent guess through. The window opens at the first attempt and lasts `window`;
// a refused attempt keeps the key locked at least base_delay * 2^(refused so far - 1), at most
// max_delay, from then on (its end is never brought forward). A success clears the account's
// count and gives the address back its own attempt, not the others (one good password does not
// excuse an address that is guessing at many accounts).
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

  // Counts an attempt at `account`'s password from `address`, before the password is checked.
  // nullopt: check it (a failure needs nothing more: it is counted already). Otherwise the
  // attempt is refused and the caller must wait this long; a refusal by the address does not
  // count against the account.
  Awaitable<std::optional<std::chrono::milliseconds>> attempt(std::string account,
                                                              std::string address);
  // The attempt's password matched.
  Awaitable<void> succeeded(std::string account, std::string address);

 private:
  Awaitable<std::optional<std::chrono::milliseconds>> take(std::string kind, std::string key,
                                                           const LockoutPolicy& policy);
  Awaitable<void> give_back(std::string kind, std::string key, const LockoutPolicy& policy);

  std::shared_ptr<cache::Cache> cache_;
  LockoutPolicy account_;
  LockoutPolicy address_;
};

}  // namespace stoa::user
