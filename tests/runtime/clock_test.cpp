// The injectable clock: the real one tells the operating system's time, a ManualClock only
// the time a test gives it.
#include "runtime/clock.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace stoa {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;
using std::chrono::system_clock;

TEST(Clock, TheRealClockIsTheOperatingSystemsAndOneObject) {
  const Clock& real = Clock::real();
  EXPECT_EQ(&real, &Clock::real());
  const auto system_before = system_clock::now();
  const auto steady_before = steady_clock::now();
  const auto system = real.system_now();
  const auto steady = real.steady_now();
  EXPECT_GE(system, system_before);
  EXPECT_GE(steady, steady_before);
  EXPECT_LE(system, system_clock::now());
  EXPECT_LE(steady, steady_clock::now());
}

TEST(ManualClock, StandsStillUntilMoved) {
  const system_clock::time_point start{1'700'000'000s};
  const steady_clock::time_point steady_start{42s};
  ManualClock clock(start, steady_start);
  EXPECT_EQ(clock.system_now(), start);
  EXPECT_EQ(clock.steady_now(), steady_start);
  EXPECT_EQ(clock.system_now(), start);  // reading does not move it
  clock.advance(1500ms);
  EXPECT_EQ(clock.system_now(), start + 1500ms);
  EXPECT_EQ(clock.steady_now(), steady_start + 1500ms);
}

TEST(ManualClock, StartsAtTheRealPresentByDefault) {
  const auto system_before = system_clock::now();
  const auto steady_before = steady_clock::now();
  ManualClock clock;
  EXPECT_GE(clock.system_now(), system_before);
  EXPECT_LE(clock.system_now(), system_clock::now());
  EXPECT_GE(clock.steady_now(), steady_before);
  EXPECT_LE(clock.steady_now(), steady_clock::now());
}

TEST(ManualClock, SetMovesTheWallClockOnlyAndMayGoBack) {
  ManualClock clock(system_clock::time_point{1'700'000'000s}, steady_clock::time_point{10s});
  clock.set(system_clock::time_point{1'600'000'000s});
  EXPECT_EQ(clock.system_now(), system_clock::time_point{1'600'000'000s});
  EXPECT_EQ(clock.steady_now(), steady_clock::time_point{10s});
}

TEST(ManualClock, TheSteadyTimeNeverGoesBack) {
  ManualClock clock(system_clock::time_point{1'700'000'000s}, steady_clock::time_point{10s});
  clock.advance(-5s);
  EXPECT_EQ(clock.steady_now(), steady_clock::time_point{10s});
  EXPECT_EQ(clock.system_now(), system_clock::time_point{1'700'000'000s});
}

TEST(ManualClock, IsUsableThroughTheInterface) {
  ManualClock manual(system_clock::time_point{100s}, steady_clock::time_point{7s});
  const Clock& clock = manual;
  manual.advance(1s);
  EXPECT_EQ(clock.system_now(), system_clock::time_point{101s});
  EXPECT_EQ(clock.steady_now(), steady_clock::time_point{8s});
}

// Advanced and read from several threads at once: no advance is lost, and no reader sees
// the steady time go back.
TEST(ManualClock, IsThreadSafe) {
  ManualClock clock(system_clock::time_point{0s}, steady_clock::time_point{0s});
  constexpr int kThreads = 4;
  constexpr int kSteps = 10'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < kSteps; ++i) clock.advance(1ms);
    });
  }
  bool monotonic = true;
  std::thread reader([&] {
    auto last = clock.steady_now();
    for (int i = 0; i < kSteps; ++i) {
      const auto now = clock.steady_now();
      if (now < last) monotonic = false;
      last = now;
    }
  });
  for (auto& t : threads) t.join();
  reader.join();
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(clock.steady_now(), steady_clock::time_point{kThreads * kSteps * 1ms});
  EXPECT_EQ(clock.system_now(), system_clock::time_point{kThreads * kSteps * 1ms});
}

}  // namespace
}  // namespace stoa
