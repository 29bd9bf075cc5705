// The engine-independent parts of data/sql: values, rows, and picking a driver by URL.
#include <gtest/gtest.h>

#include "data/sql/sql.h"
#include "runtime/event_loop.h"

namespace stoa::sql {
namespace {

TEST(SqlValue, HoldsEachTypeAndRefusesAnother) {
  EXPECT_TRUE(Value().is_null());
  EXPECT_TRUE(Value(nullptr).is_null());
  EXPECT_TRUE(Value(std::optional<int>{}).is_null());
  EXPECT_EQ(Value(std::optional<int>{7}).integer(), 7);
  EXPECT_EQ(Value(42).integer(), 42);
  EXPECT_EQ(Value(std::uint16_t{9}).integer(), 9);
  EXPECT_DOUBLE_EQ(Value(2.5).real(), 2.5);
  EXPECT_DOUBLE_EQ(Value(3).real(), 3.0);
  EXPECT_EQ(Value("text").text(), "text");
  EXPECT_EQ(Value(std::string_view("view")).text(), "view");
  EXPECT_EQ(Value(Blob{std::string("\0\1", 2)}).blob().bytes.size(), 2u);
  EXPECT_TRUE(Value(true).boolean());
  EXPECT_TRUE(Value(1).boolean());  // SQLite's booleans
  EXPECT_FALSE(Value(0).boolean());
  EXPECT_THROW((void)Value(2).boolean(), std::bad_variant_access);
  EXPECT_THROW((void)Value("1").integer(), std::bad_variant_access);
  EXPECT_THROW((void)Value().text(), std::bad_variant_access);
  EXPECT_EQ(Value().optional_text(), std::nullopt);
  EXPECT_EQ(Value(5).optional_integer(), 5);
}

TEST(SqlRows, FindsColumnsByName) {
  Rows rows({"id", "email"}, {{Value(1), Value("a@example.com")}}, 0);
  EXPECT_EQ(rows.at(0, "email").text(), "a@example.com");
  EXPECT_EQ(rows.at(0, 0).integer(), 1);
  EXPECT_THROW((void)rows.at(0, "missing"), std::out_of_range);
  EXPECT_THROW((void)rows.at(1, 0), std::out_of_range);
}

TEST(SqlOpen, RejectsUnknownSchemesWithoutShowingSecrets) {
  EventLoop loop(1);
  DatabaseOptions options;
  options.url = "mysql://root:hunter2@db/app";
  auto opened = open_database(options, loop, nullptr);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::invalid_argument);
  EXPECT_NE(opened.error().message.find("mysql://"), std::string::npos);
  EXPECT_EQ(opened.error().message.find("hunter2"), std::string::npos);

  options.url = "not a url";
  opened = open_database(options, loop, nullptr);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::invalid_argument);
}

}  // namespace
}  // namespace stoa::sql
