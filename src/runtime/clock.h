#pragma once
// The process's clock, injectable (as LevelDB's Env is for the filesystem), so that what time
// decides — token expiry, cache TTLs, lockout windows, locks, outbox leases, redelivery due
// times — can be tested by moving time instead of sleeping.
//
// - Clock: the interface. system_now() is wall-clock time (what is stored, compared across
//   processes or with times in tokens); steady_now() is monotonic (intervals and deadlines
//   within the process).
// - Clock::real(): the operating system's clocks, the process default. A static object: the
//   call costs what std::chrono's now() does, plus one virtual call.
// - ManualClock: for tests; its time moves only when the test sets or advances it.
//
// Thread-safety: every Clock may be read from any thread at once (the real clock has no state;
// ManualClock guards its own). A component keeps a reference to the clock it was given, which
// must outlive it: the real clock lives as long as the process, a test's ManualClock as long
// as the test.
//
// What deliberately still reads std::chrono directly (docs/runtime.md, "Clock"): Asio timers
// (they wait in real time; a component that waits for something its clock decides computes
// the wait from its clock and re-checks on waking), log and span timestamps, request
// durations in metrics, and start-up and shutdown deadlines.
#include <chrono>
#include <mutex>

namespace stoa {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point system_now() const = 0;
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;

  // The operating system's clocks; lives as long as the process.
  static const Clock& real();
};

// A clock that moves only when told. Both of its times start at the real clock's present,
// unless given, so that times it makes compare sensibly with times written by code it does
// not drive (a row's creation time, a token's iat).
class ManualClock final : public Clock {
 public:
  ManualClock();
  explicit ManualClock(std::chrono::system_clock::time_point system,
                       std::chrono::steady_clock::time_point steady = {});

  std::chrono::system_clock::time_point system_now() const override;
  std::chrono::steady_clock::time_point steady_now() const override;

  // Moves both times on by `by` (at least zero: the steady time never goes back).
  void advance(std::chrono::nanoseconds by);
  // Sets the wall-clock time, as an operator or NTP may, even backwards; the steady time
  // stays where it is.
  void set(std::chrono::system_clock::time_point system);

 private:
  mutable std::mutex mutex_;
  std::chrono::system_clock::time_point system_;
  std::chrono::steady_clock::time_point steady_;
};

}  // namespace stoa
