// sql::apply_migrations(host, schema): what a service calls from Component::start(), before
// the event loop runs, on the real process object.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "app/process.h"
#include "data/sql/migrations.h"
#include "runtime/config.h"
#include "runtime/run_before_loop.h"

namespace stoa::sql {
namespace {

namespace fs = std::filesystem;

[[maybe_unused]] const bool registered =
    register_migrations({"unit_start",
                         {{"0001_create_greetings.sql",
                           "CREATE TABLE greetings (id BIGINT PRIMARY KEY, text TEXT NOT NULL);\n"
                           "INSERT INTO greetings (id, text) VALUES (1, 'hello');"}}});

class MigrateAtStart : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "stoa-start-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::unique_ptr<app::Process> process(bool migrate) {
    std::map<std::string, std::string> env{
        {"STOA_DATABASE_URL", "sqlite://" + (dir_ / "stoa.db").string()},
        {"STOA_DATABASE_MIGRATE", migrate ? "true" : "false"},
        {"STOA_PROCESS_THREADS", "1"}};
    auto config = Config::load("", [env](std::string_view name) -> std::optional<std::string> {
      auto it = env.find(std::string(name));
      if (it == env.end()) return std::nullopt;
      return it->second;
    });
    if (!config) throw std::runtime_error(config.error().message);
    return std::make_unique<app::Process>(std::move(config).value());
  }

  // Reads the greeting through the process's database, on its loop.
  Result<Rows> greeting(app::Process& host) {
    static constexpr Query kGreeting{"greetings.read", "SELECT text FROM greetings WHERE id = 1"};
    auto db = database(host);
    Result<Rows> rows = Error{Errc::internal, "not run"};
    run_before_loop(host.loop(),
                    [&]() -> Awaitable<void> { rows = co_await db->execute(kGreeting, {}); });
    return rows;
  }

  fs::path dir_;
};

TEST_F(MigrateAtStart, AppliesTheRegisteredSetBeforeTheLoopRuns) {
  auto host = process(true);
  apply_migrations(*host, "unit_start");
  auto rows = greeting(*host);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_EQ(rows->at(0, "text").text(), "hello");
  apply_migrations(*host, "unit_start");  // up to date: nothing happens
  EXPECT_THROW(apply_migrations(*host, "no_such_schema"), std::logic_error);
}

TEST_F(MigrateAtStart, DoesNothingWhenDatabaseMigrateIsFalse) {
  auto host = process(false);
  apply_migrations(*host, "unit_start");
  auto rows = greeting(*host);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.error().code, Errc::invalid_argument) << rows.error().message;
}

}  // namespace
}  // namespace stoa::sql
