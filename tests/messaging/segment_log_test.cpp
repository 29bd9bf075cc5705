#include "messaging/embedded/segment_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "messaging/embedded/crc32c.h"

namespace stoa::messaging::embedded {
namespace {

namespace fs = std::filesystem;

class SegmentLogTest : public ::testing::Test {
 protected:
  SegmentLogTest() {
    dir_ = fs::temp_directory_path() /
           ("stoa-log-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  ~SegmentLogTest() override { fs::remove_all(dir_); }

  // Opens the log and returns the payloads it replays.
  Result<std::unique_ptr<SegmentLog>> open(std::vector<std::string>& seen,
                                           RecoveryReport* report = nullptr,
                                           std::uint64_t segment_bytes = 1 << 20) {
    seen.clear();
    return SegmentLog::open(
        dir_.string(), segment_bytes,
        [&seen](std::uint8_t type, std::string_view payload) -> Status {
          seen.push_back(std::to_string(type) + ":" + std::string(payload));
          return Ok{};
        },
        report);
  }

  static std::string records(int from, int to) {
    std::string framed;
    for (int i = from; i < to; ++i) SegmentLog::frame(framed, 1, "record-" + std::to_string(i));
    return framed;
  }

  fs::path segment(int index) const {
    char name[32];
    std::snprintf(name, sizeof name, "%020d.log", index);
    return dir_ / name;
  }

  fs::path dir_;
};

TEST(Crc32c, KnownValues) {
  // RFC 3720 B.4 test vectors.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
}

TEST_F(SegmentLogTest, ReplaysWhatWasAppendedAfterReopen) {
  std::vector<std::string> seen;
  {
    auto log = open(seen);
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_TRUE(seen.empty());
    ASSERT_TRUE((*log)->append(records(0, 3)));
    ASSERT_TRUE((*log)->append(records(3, 5)));
  }
  auto log = open(seen);
  ASSERT_TRUE(log) << log.error().message;
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], "1:record-0");
  EXPECT_EQ(seen[4], "1:record-4");
}

TEST_F(SegmentLogTest, RollsSegmentsAndReadsThemInOrder) {
  std::vector<std::string> seen;
  {
    auto log = open(seen, nullptr, 64);
    ASSERT_TRUE(log);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*log)->append(records(i, i + 1)));
    EXPECT_GE((*log)->segment_index(), 3u);
  }
  RecoveryReport report;
  auto log = open(seen, &report, 64);
  ASSERT_TRUE(log);
  ASSERT_EQ(seen.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(seen[i], "1:record-" + std::to_string(i));
  EXPECT_GE(report.segments, 4u);
}

TEST_F(SegmentLogTest, CutsATornTailAndKeepsAppending) {
  std::vector<std::string> seen;
  {
    auto log = open(seen);
    ASSERT_TRUE((*log)->append(records(0, 3)));
  }
  const auto full = fs::file_size(segment(0));
  {
    // Half of a fourth record, as a crash in the middle of write() leaves it.
    const std::string fourth = records(3, 4);
    std::ofstream out(segment(0), std::ios::binary | std::ios::app);
    out.write(fourth.data(), static_cast<std::streamsize>(fourth.size() / 2));
  }
  RecoveryReport report;
  {
    auto log = open(seen, &report);
    ASSERT_TRUE(log) << log.error().message;
    EXPECT_EQ(seen.size(), 3u);
    EXPECT_GT(report.truncated_bytes, 0u);
    EXPECT_EQ(fs::file_size(segment(0)), full);
    ASSERT_TRUE((*log)->append(records(3, 4)));
  }
  auto log = open(seen, &report);
  ASSERT_TRUE(log);
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(report.truncated_bytes, 0u);
}

TEST_F(SegmentLogTest, ZeroFilledTailIsTorn) {
  std::vector<std::string> seen;
  {
    auto log = open(seen);
    ASSERT_TRUE((*log)->append(records(0, 2)));
  }
  {
    std::ofstream out(segment(0), std::ios::binary | std::ios::app);
    const std::string zeros(4096, '\0');
    out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  RecoveryReport report;
  auto log = open(seen, &report);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(report.truncated_bytes, 4096u);
}

TEST_F(SegmentLogTest, ChecksumMismatchInTheLastSegmentIsCut) {
  std::vector<std::string> seen;
  {
    auto log = open(seen);
    ASSERT_TRUE((*log)->append(records(0, 3)));
  }
  {
    std::fstream file(segment(0), std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(-2, std::ios::end);  // inside the last record's payload
    file.put('#');
  }
  auto log = open(seen);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(SegmentLogTest, CorruptionBeforeTheLastSegmentRefusesToOpen) {
  std::vector<std::string> seen;
  {
    auto log = open(seen, nullptr, 64);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE((*log)->append(records(i, i + 1)));
  }
  {
    std::fstream file(segment(0), std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(-2, std::ios::end);
    file.put('#');
  }
  auto log = open(seen, nullptr, 64);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, Errc::io);
  EXPECT_NE(log.error().message.find("corrupt"), std::string::npos) << log.error().message;
}

TEST_F(SegmentLogTest, OneProcessAtATime) {
  std::vector<std::string> seen;
  auto first = open(seen);
  ASSERT_TRUE(first);
  auto second = open(seen);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::conflict);
  EXPECT_NE(second.error().message.find("in use by another process"), std::string::npos);
  first->reset();
  EXPECT_TRUE(open(seen)) << "the lock was not released";
}

TEST_F(SegmentLogTest, NotASegmentIsRefused) {
  fs::create_directories(dir_);
  {
    std::ofstream out(segment(0), std::ios::binary);
    out << "this is not a Stoa log";
  }
  std::ofstream(segment(1), std::ios::binary) << "";
  std::vector<std::string> seen;
  auto log = open(seen);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, Errc::io);
}

}  // namespace
}  // namespace stoa::messaging::embedded
