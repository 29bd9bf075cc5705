#pragma once
// The one retry and backoff policy of Stoa: every adapter that reconnects or retries (broker
// redeliveries, the outbox, RabbitMQ, PostgreSQL, Redis, the S3 client) takes its delays from
// here, with its own numbers as the policy's parameters.
//
// - RetryPolicy: the numbers (a plain value, from config or constants).
// - Backoff: one retrying thing's progress (a connection, a request). next_delay() says how
//   long to wait before the next try, or that there is none; it never sleeps and its jitter
//   comes from a seed the caller gives, so tests check delays without waiting.
// - RetryBudget: shared by all the requests to one backend, it lets only a share of them be
//   retries (as Finagle's RetryBudget and Envoy's retry budget), so that a backend that fails
//   every request is not sent several times the traffic it already cannot serve.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace stoa {

enum class Jitter {
  none,          // exactly the exponential delay: for delays others must know (RabbitMQ's
                 // retry queues are declared per delay)
  full,          // uniform in [0, delay] (AWS "full jitter")
  decorrelated,  // uniform in [initial, 3 * previous], at most max_delay (AWS "decorrelated")
  proportional,  // uniform in [delay * (1 - spread), delay * (1 + spread)]
};

struct RetryPolicy {
  std::chrono::milliseconds initial_delay{100};  // before the first retry
  std::chrono::milliseconds max_delay{10'000};   // the cap of the exponential delay
  double multiplier = 2;                         // each retry's delay over the last one's
  Jitter jitter = Jitter::none;
  double spread = 0.5;                    // Jitter::proportional only
  std::uint32_t max_attempts = 0;         // tries in all, the first included; 0: no limit
  std::chrono::milliseconds deadline{0};  // since the first try; 0: no limit

  // The delay before retry `retry` (1 = after the first failure; 0 counts as 1) without
  // jitter: initial_delay * multiplier^(retry-1), at most max_delay.
  std::chrono::milliseconds base_delay(std::uint32_t retry) const;
};

// Thread-safe; shared (by reference or shared_ptr) by every Backoff of one backend. Each
// request deposits `ratio` of a retry, each retry withdraws one; the balance starts at and
// never exceeds `reserve`, so a quiet client may still retry a few times in a row while a
// failing backend sees at most about (1 + ratio) times its requests.
class RetryBudget {
 public:
  explicit RetryBudget(double ratio = 0.2, double reserve = 10);

  void record_request();
  // True, and one retry spent, when the budget has one.
  bool try_spend();
  double balance() const;

 private:
  const double ratio_;
  const double reserve_;
  mutable std::mutex mutex_;
  double balance_;
};

class Backoff {
 public:
  // `seed` drives the jitter (random_seed() in production, a constant in tests). With a
  // `budget`, each retry must also be paid for from it; it must outlive the Backoff.
  explicit Backoff(RetryPolicy policy, std::uint64_t seed = 0, RetryBudget* budget = nullptr);

  // After a failed try: the delay before the next one, or nullopt when there is none (max
  // attempts reached, the retry would start after the deadline, or the budget is spent).
  // `elapsed` is the time since the first try (only the deadline reads it).
  std::optional<std::chrono::milliseconds> next_delay(
      std::chrono::milliseconds elapsed = std::chrono::milliseconds(0));
  // After a success: the next failure starts again from initial_delay.
  void reset();

  std::uint32_t retries() const { return retries_; }  // since the last reset
  const RetryPolicy& policy() const { return policy_; }

 private:
  double uniform(double low, double high);  // from the seeded generator

  RetryPolicy policy_;
  std::uint64_t state_;
  RetryBudget* budget_;
  std::uint32_t retries_ = 0;
  std::chrono::milliseconds previous_{0};
};

// A seed for Backoff from the operating system's random source.
std::uint64_t random_seed();

}  // namespace stoa
