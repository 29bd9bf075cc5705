#include "data/cache/memory_atomics.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <unordered_map>

namespace stoa::cache {

namespace {

using Steady = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

struct Slot {
  std::int64_t value = 0;  // GCRA: theoretical arrival time (µs); counter: its value
  std::string owner;       // lock owner
  Steady::time_point expires = Steady::time_point::max();
};

// Expired slots are dropped when touched, and all at once whenever a map doubled in size
// since the last sweep, so abandoned keys cannot pile up.
class SlotMap {
 public:
  Slot* find(const std::string& key, Steady::time_point now) {
    auto it = slots_.find(key);
    if (it == slots_.end()) return nullptr;
    if (it->second.expires <= now) {
      slots_.erase(it);
      return nullptr;
    }
    return &it->second;
  }

  Slot& insert(const std::string& key, Steady::time_point now) {
    if (slots_.size() >= sweep_at_) {
      std::erase_if(slots_, [now](const auto& kv) { return kv.second.expires <= now; });
      sweep_at_ = std::max<std::size_t>(1024, slots_.size() * 2);
    }
    Slot& s = slots_[key];
    s = Slot{};
    return s;
  }

  void erase(const std::string& key) { slots_.erase(key); }

 private:
  std::unordered_map<std::string, Slot> slots_;
  std::size_t sweep_at_ = 1024;
};

Steady::time_point expiry(Steady::time_point now, milliseconds ttl) {
  return ttl.count() > 0 ? now + ttl : Steady::time_point::max();
}

std::int64_t micros(Steady::time_point t) {
  return duration_cast<microseconds>(t.time_since_epoch()).count();
}

milliseconds ceil_ms(std::int64_t us) {
  return milliseconds((us + 999) / 1000);
}

// Wraps like Redis would refuse to: saturate instead of overflowing.
void add_saturating(std::int64_t& value, std::int64_t delta) {
  if (delta > 0 && value > std::numeric_limits<std::int64_t>::max() - delta) {
    value = std::numeric_limits<std::int64_t>::max();
  } else if (delta < 0 && value < std::numeric_limits<std::int64_t>::min() - delta) {
    value = std::numeric_limits<std::int64_t>::min();
  } else {
    value += delta;
  }
}

}  // namespace

Status check_rate_limit(const RateLimit& limit, std::int64_t cost) {
  if (limit.rate < 1 || limit.period.count() < 1 || limit.burst < 1) {
    return Error{Errc::invalid_argument,
                 "a rate limit needs rate >= 1, period >= 1 ms and burst >= 1"};
  }
  if (cost < 1) return Error{Errc::invalid_argument, "a rate limit cost must be >= 1"};
  if (limit.burst > 1'000'000'000 || cost > 1'000'000'000 ||
      limit.period > std::chrono::hours(24 * 366)) {
    return Error{Errc::invalid_argument, "a rate limit's burst, cost or period is too large"};
  }
  return Ok{};
}

struct MemoryAtomics::State {
  explicit State(const Clock& c) : clock(c) {}
  const Clock& clock;
  std::mutex mutex;
  SlotMap rates;
  SlotMap locks;
  SlotMap counters;
};

MemoryAtomics::MemoryAtomics(const Clock& clock) : state_(std::make_unique<State>(clock)) {}
MemoryAtomics::~MemoryAtomics() = default;

Result<RateDecision> MemoryAtomics::rate_limit_now(const std::string& key, RateLimit limit,
                                                   std::int64_t cost) {
  if (Status ok = check_rate_limit(limit, cost); !ok) return ok.error();
  // GCRA in microseconds: each request moves the theoretical arrival time (tat) on by the
  // emission interval; a request is allowed while tat stays within burst intervals of now.
  const double interval = static_cast<double>(duration_cast<microseconds>(limit.period).count()) /
                          static_cast<double>(limit.rate);
  const Steady::time_point now_tp = state_->clock.steady_now();
  const std::int64_t now = micros(now_tp);
  std::lock_guard lock(state_->mutex);
  Slot* slot = state_->rates.find(key, now_tp);
  const std::int64_t tat = slot ? std::max(slot->value, now) : now;
  const auto new_tat = static_cast<std::int64_t>(static_cast<double>(tat) + interval * cost);
  const auto capacity = static_cast<std::int64_t>(interval * static_cast<double>(limit.burst));
  const std::int64_t diff = new_tat - now;
  RateDecision d;
  if (diff > capacity) {
    d.allowed = false;
    d.remaining = 0;
    d.retry_after = ceil_ms(diff - capacity);
    d.reset_after = ceil_ms(tat - now);
    return d;
  }
  Slot& s = slot ? *slot : state_->rates.insert(key, now_tp);
  s.value = new_tat;
  s.expires = now_tp + microseconds(diff);
  d.allowed = true;
  d.remaining = static_cast<std::int64_t>(static_cast<double>(capacity - diff) / interval);
  d.reset_after = ceil_ms(diff);
  return d;
}

bool MemoryAtomics::try_lock_now(const std::string& key, const std::string& owner,
                                 milliseconds ttl) {
  const Steady::time_point now = state_->clock.steady_now();
  std::lock_guard lock(state_->mutex);
  if (state_->locks.find(key, now) != nullptr) return false;
  Slot& s = state_->locks.insert(key, now);
  s.owner = owner;
  s.expires = expiry(now, ttl);
  return true;
}

bool MemoryAtomics::unlock_now(const std::string& key, const std::string& owner) {
  std::lock_guard lock(state_->mutex);
  Slot* s = state_->locks.find(key, state_->clock.steady_now());
  if (s == nullptr || s->owner != owner) return false;
  state_->locks.erase(key);
  return true;
}

bool MemoryAtomics::extend_lock_now(const std::string& key, const std::string& owner,
                                    milliseconds ttl) {
  const Steady::time_point now = state_->clock.steady_now();
  std::lock_guard lock(state_->mutex);
  Slot* s = state_->locks.find(key, now);
  if (s == nullptr || s->owner != owner) return false;
  s->expires = expiry(now, ttl);
  return true;
}

std::int64_t MemoryAtomics::increment_now(const std::string& key, std::int64_t delta,
                                          milliseconds ttl) {
  const Steady::time_point now = state_->clock.steady_now();
  std::lock_guard lock(state_->mutex);
  Slot* s = state_->counters.find(key, now);
  if (s == nullptr) {
    s = &state_->counters.insert(key, now);
    s->expires = expiry(now, ttl);
  }
  add_saturating(s->value, delta);
  return s->value;
}

WindowCount MemoryAtomics::count_in_window_now(const std::string& key, std::int64_t delta,
                                               milliseconds ttl, milliseconds at_least) {
  const Steady::time_point now = state_->clock.steady_now();
  // One critical section: the count, the window's end and what this caller is told are one
  // decision, whatever other threads do.
  std::lock_guard lock(state_->mutex);
  Slot* s = state_->counters.find(key, now);
  if (s == nullptr) {
    if (delta <= 0) return WindowCount{};
    s = &state_->counters.insert(key, now);
    s->expires = expiry(now, ttl);
  }
  add_saturating(s->value, delta);
  if (at_least.count() > 0 && s->expires != Steady::time_point::max()) {
    s->expires = std::max(s->expires, now + at_least);
  }
  WindowCount out{.count = s->value};
  if (s->expires != Steady::time_point::max()) {
    out.remaining = ceil_ms(duration_cast<microseconds>(s->expires - now).count());
  }
  return out;
}

std::int64_t MemoryAtomics::counter_now(const std::string& key) {
  std::lock_guard lock(state_->mutex);
  Slot* s = state_->counters.find(key, state_->clock.steady_now());
  return s ? s->value : 0;
}

Awaitable<Result<RateDecision>> MemoryAtomics::rate_limit(std::string key, RateLimit limit,
                                                          std::int64_t cost) {
  co_return rate_limit_now(key, limit, cost);
}

Awaitable<Result<bool>> MemoryAtomics::try_lock(std::string key, std::string owner,
                                                milliseconds ttl) {
  co_return try_lock_now(key, owner, ttl);
}

Awaitable<Result<bool>> MemoryAtomics::unlock(std::string key, std::string owner) {
  co_return unlock_now(key, owner);
}

Awaitable<Result<bool>> MemoryAtomics::extend_lock(std::string key, std::string owner,
                                                   milliseconds ttl) {
  co_return extend_lock_now(key, owner, ttl);
}

Awaitable<Result<std::int64_t>> MemoryAtomics::increment(std::string key, std::int64_t delta,
                                                         milliseconds ttl) {
  co_return increment_now(key, delta, ttl);
}

Awaitable<Result<std::int64_t>> MemoryAtomics::counter(std::string key) {
  co_return counter_now(key);
}

Awaitable<Result<WindowCount>> MemoryAtomics::count_in_window(std::string key, std::int64_t delta,
                                                              milliseconds ttl,
                                                              milliseconds at_least) {
  co_return count_in_window_now(key, delta, ttl, at_least);
}

}  // namespace stoa::cache
