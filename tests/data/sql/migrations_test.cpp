// Migration files: naming, the dialect's variant, checksums, and splitting scripts.
#include "data/sql/migrations.h"
#include "data/sql/sql_script.h"

#include <gtest/gtest.h>

namespace stoa::sql {
namespace {

TEST(SqlScript, SplitsOnSemicolonsOutsideQuotesAndComments) {
  auto statements = split_sql_script(
      "CREATE TABLE a (t TEXT DEFAULT 'x;y');  -- a comment; with a semicolon\n"
      "INSERT INTO a VALUES ('it''s; fine');\n"
      "/* block; /* nested; */ still comment; */ SELECT \"odd;name\" FROM a;\n"
      "-- only a comment at the end;\n");
  ASSERT_EQ(statements.size(), 3u);
  EXPECT_EQ(statements[0], "CREATE TABLE a (t TEXT DEFAULT 'x;y')");
  EXPECT_EQ(statements[1], "-- a comment; with a semicolon\nINSERT INTO a VALUES ('it''s; fine')");
  EXPECT_NE(statements[2].find("SELECT \"odd;name\" FROM a"), std::string::npos);
}

TEST(SqlScript, KeepsDollarQuotedBodiesAndTriggersWhole) {
  auto statements = split_sql_script(
      "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n"
      "SELECT $$a;b$$, $1;\n"
      "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = 1; DELETE FROM b; END;\n"
      "SELECT 2");
  ASSERT_EQ(statements.size(), 4u);
  EXPECT_NE(statements[0].find("SELECT 1; $body$ LANGUAGE sql"), std::string::npos);
  EXPECT_EQ(statements[1], "SELECT $$a;b$$, $1");
  EXPECT_EQ(statements[2],
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = 1; DELETE FROM b; END");
  EXPECT_EQ(statements[3], "SELECT 2");
}

TEST(Migrations, PickTheDialectsFileAndChecksumIt) {
  MigrationSet set{"users",
                   {{"0002_index.sql", "CREATE INDEX i ON u (x)"},
                    {"0001_create.sql", "CREATE TABLE u (x BLOB)"},
                    {"0001_create.postgresql.sql", "CREATE TABLE u (x BYTEA)"},
                    {"0003_pg_only.postgresql.sql", "CREATE EXTENSION citext"}}};
  auto sqlite = migrations_for(set, Dialect::sqlite);
  ASSERT_TRUE(sqlite.ok()) << sqlite.error().message;
  ASSERT_EQ(sqlite->size(), 2u);
  EXPECT_EQ((*sqlite)[0].name, "0001_create");
  EXPECT_EQ((*sqlite)[0].version, 1);
  EXPECT_EQ((*sqlite)[0].sql, "CREATE TABLE u (x BLOB)");
  EXPECT_EQ((*sqlite)[0].checksum.size(), 64u);
  EXPECT_EQ((*sqlite)[1].name, "0002_index");
  auto pg = migrations_for(set, Dialect::postgresql);
  ASSERT_TRUE(pg.ok());
  ASSERT_EQ(pg->size(), 3u);
  EXPECT_EQ((*pg)[0].sql, "CREATE TABLE u (x BYTEA)");
  EXPECT_NE((*pg)[0].checksum, (*sqlite)[0].checksum);
}

TEST(Migrations, RegisteredSetsAreFoundBySchema) {
  auto messaging = registered_migrations("messaging");
  ASSERT_TRUE(messaging);
  EXPECT_EQ(messaging->schema, "messaging");
  EXPECT_FALSE(messaging->files.empty());
  EXPECT_FALSE(registered_migrations("no-such-schema"));
}

TEST(Migrations, RefuseBadNamesAndDuplicateVersions) {
  for (const std::string bad : {"create.sql", "0001-create.sql", "0001_Create.sql", "0001_.sql",
                                "0001_create.mysql.sql", "0001_create.txt"}) {
    MigrationSet set{"users", {{bad, "SELECT 1"}}};
    auto result = migrations_for(set, Dialect::sqlite);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.error().code, Errc::invalid_argument);
  }
  MigrationSet twice{"users", {{"0001_a.sql", "SELECT 1"}, {"0001_b.sql", "SELECT 2"}}};
  EXPECT_FALSE(migrations_for(twice, Dialect::sqlite).ok());
  MigrationSet bad_schema{"Users; DROP", {{"0001_a.sql", "SELECT 1"}}};
  EXPECT_FALSE(migrations_for(bad_schema, Dialect::sqlite).ok());
}

}  // namespace
}  // namespace stoa::sql
