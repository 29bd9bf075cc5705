#include "app/migrate.h"

#include <iostream>

#include "data/sql/migrations.h"
#include "runtime/config.h"
#include "runtime/event_loop.h"
#include "runtime/run_before_loop.h"

namespace stoa::app {

int run_migrate(const Config& config, const std::string& dir,
                const std::vector<std::string>& schemas) {
  std::vector<sql::MigrationSet> sets;
  // --dir replaces the built-in sets; otherwise database.migrations_dir adds to them.
  const std::string& extra = dir.empty() ? config.string("database.migrations_dir") : dir;
  if (dir.empty()) sets = sql::registered_migrations();
  if (!extra.empty()) {
    auto read = sql::read_migration_dir(extra);
    if (!read) {
      std::cerr << "stoa: " << read.error().message << "\n";
      return 2;
    }
    sets.insert(sets.end(), read->begin(), read->end());
  }
  if (!schemas.empty()) {
    std::vector<sql::MigrationSet> chosen;
    for (const auto& schema : schemas) {
      auto it = std::find_if(sets.begin(), sets.end(),
                             [&](const sql::MigrationSet& set) { return set.schema == schema; });
      if (it == sets.end()) {
        std::string known;
        for (const auto& set : sets) known += (known.empty() ? "" : ", ") + set.schema;
        std::cerr << "stoa: no migrations for schema '" << schema
                  << "'; known: " << (known.empty() ? "none" : known) << "\n";
        return 2;
      }
      chosen.push_back(*it);
    }
    sets = std::move(chosen);
  }
  if (sets.empty()) {
    std::cout << "no migrations to apply\n";
    return 0;
  }

  EventLoop loop(1);
  auto opened = sql::open_database(sql::DatabaseOptions::from_config(config), loop, nullptr);
  if (!opened) {
    std::cerr << "stoa: cannot open the database: " << opened.error().message << "\n";
    return 1;
  }
  auto db = std::move(opened).value();
  int exit_code = 0;
  for (const auto& set : sets) {
    Result<std::vector<std::string>> result = Error{Errc::internal, "not run"};
    run_before_loop(
        loop, [&]() -> Awaitable<void> { result = co_await sql::apply_migrations(*db, set); });
    if (!result) {
      std::cerr << "stoa: " << result.error().message << "\n";
      exit_code = 1;
      break;
    }
    if (result->empty()) std::cout << set.schema << ": up to date\n";
    for (const auto& name : *result) std::cout << set.schema << ": applied " << name << "\n";
  }
  db->close();
  return exit_code;
}

}  // namespace stoa::app
