#include "runtime/uuid.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace stoa {
namespace {

TEST(Uuid, V7HasVersionVariantAndTime) {
  const auto before = std::chrono::system_clock::now();
  const Uuid id = Uuid::v7();
  EXPECT_EQ(id.version(), 7);
  EXPECT_EQ(id.bytes[8] & 0xc0, 0x80);  // RFC 9562 variant
  const auto created = id.v7_time();
  EXPECT_GE(created, std::chrono::time_point_cast<std::chrono::milliseconds>(before));
  EXPECT_LE(created, std::chrono::system_clock::now());
}

TEST(Uuid, V7IsStrictlyIncreasingWithinAThreadAndUniqueAcrossThreads) {
  std::vector<std::vector<Uuid>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& ids : per_thread) {
    threads.emplace_back([&ids] {
      for (int i = 0; i < 20000; ++i) ids.push_back(Uuid::v7());
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<Uuid> all;
  for (const auto& ids : per_thread) {
    for (std::size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << i;
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), 4u * 20000u);
}

TEST(Uuid, ParsesAndPrintsTheCanonicalForm) {
  const Uuid id = Uuid::v7();
  EXPECT_EQ(Uuid::parse(id.to_string()), id);
  auto known = Uuid::parse("0189B0F6-3A4C-7D2E-9F10-0123456789AB");
  ASSERT_TRUE(known);
  EXPECT_EQ(known->to_string(), "0189b0f6-3a4c-7d2e-9f10-0123456789ab");
  for (const char* bad :
       {"", "0189b0f6-3a4c-7d2e-9f10-0123456789a", "0189b0f6a3a4c-7d2e-9f10-0123456789ab",
        "0189b0f6-3a4c-7d2e-9f10-0123456789ag", "{0189b0f6-3a4c-7d2e-9f10-0123456789}"}) {
    EXPECT_EQ(Uuid::parse(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace stoa
