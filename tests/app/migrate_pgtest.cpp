// `stoa migrate` on PostgreSQL as an operator runs it: two processes starting together apply
// each migration once (the migrations' pg_advisory_xact_lock path), against the test primary.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/stoa_process.h"
#include "support/test_servers.h"

namespace stoa::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(StoaMigratePostgresql, TwoProcessesStartingTogetherApplyEachMigrationOnce) {
  STOA_TEST_SERVER_URL(url, "STOA_TEST_PG_URL");
  std::string pattern = (fs::temp_directory_path() / "stoa-pgmigrate-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path root = pattern;
  // A schema (migration folder) and tables of this run's own: the server is shared.
  const std::string schema = "pgmig" + std::to_string(::getpid());
  const std::string table = schema + "_items";
  fs::create_directories(root / "migrations" / schema);
  auto write = [&](const std::string& name, const std::string& sql) {
    std::ofstream(root / "migrations" / schema / name) << sql;
  };
  // Enough rows that the two processes' migrations overlap in time.
  write("0001_create_items.sql",
        "CREATE TABLE " + table +
            " (id BIGINT PRIMARY KEY, label TEXT NOT NULL);\n"
            "INSERT INTO " +
            table + " (id, label) SELECT x, 'item;' || x FROM generate_series(1, 200000) AS x;\n");
  write("0002_index_label.sql", "CREATE INDEX " + table + "_label ON " + table + " (label);");
  write("0003_add_price.postgresql.sql", "ALTER TABLE " + table + " ADD COLUMN price BIGINT;");
  write("0003_add_price.sqlite.sql", "ALTER TABLE " + table + " ADD COLUMN price INTEGER;");
  const std::map<std::string, std::string> env{{"STOA_DATABASE_URL", url}};
  auto migrate = [&] {
    return std::make_unique<StoaProcess>(
        std::vector<std::string>{"migrate", "--dir", (root / "migrations").string()}, env);
  };
  auto first = migrate();
  auto second = migrate();
  ASSERT_EQ(first->wait_exit(90s), 0) << first->log();
  ASSERT_EQ(second->wait_exit(90s), 0) << second->log();
  const std::string both = first->log() + second->log();
  for (const std::string name : {"0001_create_items", "0002_index_label", "0003_add_price"}) {
    EXPECT_EQ(count(both, schema + ": applied " + name + "\n"), 1u) << name << " in:\n" << both;
  }
  auto again = migrate();
  ASSERT_EQ(again->wait_exit(90s), 0) << again->log();
  EXPECT_NE(again->log().find(schema + ": up to date"), std::string::npos) << again->log();
  std::error_code ignored;
  fs::remove_all(root, ignored);
}

}  // namespace
}  // namespace stoa::test
