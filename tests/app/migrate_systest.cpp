// `stoa migrate` as an operator runs it: two processes starting together on one SQLite file
// apply each migration once; an edited, already-applied migration stops it with a message.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "support/stoa_process.h"

namespace stoa::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class StoaMigrate : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "stoa-migrate-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    fs::create_directories(root_ / "migrations" / "shop");
    // Enough rows that the two processes' migrations overlap in time.
    write("0001_create_items.sql",
          "CREATE TABLE shop_items (id BIGINT PRIMARY KEY, label TEXT NOT NULL);\n"
          "INSERT INTO shop_items (id, label)\n"
          "  WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200000)\n"
          "  SELECT x, 'item;' || x FROM n;\n");
    write("0002_index_label.sql", "CREATE INDEX shop_items_label ON shop_items (label);");
    write("0003_add_price.sqlite.sql", "ALTER TABLE shop_items ADD COLUMN price BIGINT;");
    write("0003_add_price.postgresql.sql", "ALTER TABLE shop_items ADD COLUMN price BIGINT;");
    env_["STOA_DATABASE_URL"] = "sqlite://" + (root_ / "data" / "stoa.db").string();
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  void write(const std::string& name, const std::string& sql) {
    std::ofstream(root_ / "migrations" / "shop" / name) << sql;
  }

  std::unique_ptr<StoaProcess> migrate() {
    return std::make_unique<StoaProcess>(
        std::vector<std::string>{"migrate", "--dir", (root_ / "migrations").string()}, env_);
  }

  static std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
      ++n;
    }
    return n;
  }

  fs::path root_;
  std::map<std::string, std::string> env_;
};

TEST_F(StoaMigrate, TwoProcessesStartingTogetherApplyEachMigrationOnce) {
  auto first = migrate();
  auto second = migrate();
  ASSERT_EQ(first->wait_exit(60s), 0) << first->log();
  ASSERT_EQ(second->wait_exit(60s), 0) << second->log();
  const std::string both = first->log() + second->log();
  for (const std::string name : {"0001_create_items", "0002_index_label", "0003_add_price"}) {
    EXPECT_EQ(count(both, "shop: applied " + name + "\n"), 1u) << name << " in:\n" << both;
  }
  auto again = migrate();
  ASSERT_EQ(again->wait_exit(60s), 0) << again->log();
  EXPECT_NE(again->log().find("shop: up to date"), std::string::npos) << again->log();
}

TEST_F(StoaMigrate, AnEditedAppliedMigrationStopsItWithAClearMessage) {
  auto first = migrate();
  ASSERT_EQ(first->wait_exit(60s), 0) << first->log();
  write("0002_index_label.sql", "CREATE INDEX shop_items_label ON shop_items (label, id);");
  auto edited = migrate();
  auto code = edited->wait_exit(60s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1) << edited->log();
  EXPECT_TRUE(std::regex_search(
      edited->log(), std::regex("migration shop/0002_index_label was edited after it was applied "
                                "\\(checksum [0-9a-f]{64} != [0-9a-f]{64}\\)")))
      << edited->log();
}

// database.migrations_dir is applied by `stoa up` before it serves; an edited migration
// stops start-up.
TEST_F(StoaMigrate, StartUpAppliesMigrationsAndStopsOnAnEditedOne) {
  env_["STOA_DATABASE_MIGRATIONS_DIR"] = (root_ / "migrations").string();
  {
    StoaProcess up({"up"}, env_);
    // The admin listener answers while migrations run; "ready" is logged once they are done.
    bool ready = false;
    for (int i = 0; i < 600 && !ready && !up.wait_exit(0ms); ++i) {
      ready = up.log().find("\"msg\":\"ready\"") != std::string::npos;
      if (!ready) std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(ready) << up.log();
    EXPECT_NE(up.log().find("\"migration\":\"0003_add_price\""), std::string::npos) << up.log();
    up.signal(SIGTERM);
    EXPECT_EQ(up.wait_exit(30s), 0) << up.log();
  }
  auto status = migrate();
  ASSERT_EQ(status->wait_exit(60s), 0) << status->log();
  EXPECT_NE(status->log().find("shop: up to date"), std::string::npos) << status->log();

  write("0001_create_items.sql", "CREATE TABLE shop_items (id BIGINT PRIMARY KEY);");
  StoaProcess edited({"up"}, env_);
  auto code = edited.wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << "start-up did not stop:\n" << edited.log();
  EXPECT_NE(*code, 0);
  EXPECT_TRUE(std::regex_search(
      edited.log(), std::regex("migration shop/0001_create_items was edited after it was applied "
                               "\\(checksum [0-9a-f]{64} != [0-9a-f]{64}\\)")))
      << edited.log();
}

TEST_F(StoaMigrate, UnknownSchemasAndMissingDirectoriesAreUsageErrors) {
  StoaProcess unknown({"migrate", "--dir", (root_ / "migrations").string(), "billing"}, env_);
  EXPECT_EQ(unknown.wait_exit(30s), 2) << unknown.log();
  EXPECT_NE(unknown.log().find("no migrations for schema 'billing'; known: shop"),
            std::string::npos)
      << unknown.log();
  StoaProcess missing({"migrate", "--dir", (root_ / "nowhere").string()}, env_);
  EXPECT_EQ(missing.wait_exit(30s), 2) << missing.log();
}

}  // namespace
}  // namespace stoa::test
