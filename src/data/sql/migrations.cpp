// Migrations: naming, the per-dialect choice, checksums, and applying them under a lock.
#include "data/sql/migrations.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "data/sql/sql_script.h"
#include "observability/log.h"
#include "runtime/component.h"
#include "runtime/config.h"
#include "runtime/digest.h"
#include "runtime/run_before_loop.h"
#include "runtime/time_format.h"

namespace stoa::sql {

namespace {

constexpr std::size_t kMaxFileBytes = 16u << 20;
// The whole of one migration, lock wait included. Long index builds fit; a hung one does not
// hang start-up.
constexpr std::chrono::minutes kMigrationTimeout{10};
// Any constant works as long as every Stoa process uses the same one: "STOA" in ASCII.
constexpr std::string_view kLockKey = "1398034241";

struct Registry {
  std::mutex mutex;
  std::map<std::string, MigrationSet> sets;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

bool valid_schema(std::string_view schema) {
  if (schema.empty() || schema.size() > 63 || schema[0] < 'a' || schema[0] > 'z') return false;
  return std::all_of(schema.begin(), schema.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

struct ParsedName {
  std::int64_t version = 0;
  std::string name;                // without dialect and .sql
  std::optional<Dialect> dialect;  // nullopt: every dialect
};

std::optional<ParsedName> parse_file_name(std::string_view file) {
  if (!file.ends_with(".sql")) return std::nullopt;
  std::string_view stem = file.substr(0, file.size() - 4);
  ParsedName parsed;
  if (stem.ends_with(".sqlite")) {
    parsed.dialect = Dialect::sqlite;
    stem.remove_suffix(7);
  } else if (stem.ends_with(".postgresql")) {
    parsed.dialect = Dialect::postgresql;
    stem.remove_suffix(11);
  }
  std::size_t digits = 0;
  while (digits < stem.size() && stem[digits] >= '0' && stem[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9 || digits + 1 >= stem.size() || stem[digits] != '_') {
    return std::nullopt;
  }
  for (char c : stem.substr(digits + 1)) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return std::nullopt;
  }
  parsed.version = std::stoll(std::string(stem.substr(0, digits)));
  parsed.name = std::string(stem);
  return parsed;
}

}  // namespace

bool register_migrations(MigrationSet set) {
  std::lock_guard lock(registry().mutex);
  std::string schema = set.schema;
  registry().sets[schema] = std::move(set);
  return true;
}

std::vector<MigrationSet> registered_migrations() {
  std::lock_guard lock(registry().mutex);
  std::vector<MigrationSet> sets;
  for (const auto& [schema, set] : registry().sets) sets.push_back(set);
  return sets;
}

Result<std::vector<MigrationSet>> read_migration_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error{Errc::not_found, "migration directory " + quote_for_message(dir, 200) +
                                      " does not exist or is not a directory"};
  }
  std::vector<MigrationSet> sets;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory()) {
      if (name.ends_with(".sql")) {
        return Error{Errc::invalid_argument, "migration file " + quote_for_message(name) +
                                                 " is directly in " + quote_for_message(dir, 200) +
                                                 ": put it in a folder named after its "
                                                 "schema (DIR/<schema>/NNNN_name.sql)"};
      }
      continue;
    }
    MigrationSet set;
    set.schema = name;
    for (const auto& file : fs::directory_iterator(entry.path(), ec)) {
      if (!file.is_regular_file() || file.path().extension() != ".sql") continue;
      if (file.file_size(ec) > kMaxFileBytes) {
        return Error{Errc::too_large, "migration " + quote_for_message(file.path().string(), 200) +
                                          " is larger than 16 MiB"};
      }
      std::ifstream in(file.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      if (!in) {
        return Error{Errc::io,
                     "cannot read migration " + quote_for_message(file.path().string(), 200)};
      }
      set.files.push_back({file.path().filename().string(), text.str()});
    }
    sets.push_back(std::move(set));
  }
  if (ec) {
    return Error{Errc::io, "cannot list migration directory " + quote_for_message(dir, 200) + ": " +
                               ec.message()};
  }
  std::sort(sets.begin(), sets.end(),
            [](const MigrationSet& a, const MigrationSet& b) { return a.schema < b.schema; });
  return sets;
}

Result<std::vector<Migration>> migrations_for(const MigrationSet& set, Dialect dialect) {
  if (!valid_schema(set.schema)) {
    return Error{Errc::invalid_argument, "migration schema " + quote_for_message(set.schema) +
                                             " must be lowercase letters, digits and _"};
  }
  // Per version: the plain file and the dialect's file; the dialect's wins.
  std::map<std::int64_t, std::pair<const MigrationFile*, const MigrationFile*>> chosen;
  std::map<std::int64_t, std::string> names;
  for (const auto& file : set.files) {
    auto parsed = parse_file_name(file.file_name);
    if (!parsed) {
      return Error{Errc::invalid_argument,
                   "migration " + set.schema + "/" + quote_for_message(file.file_name) +
                       ": expected NNNN_name.sql or NNNN_name.{sqlite,postgresql}.sql "
                       "(name in lowercase letters, digits and _)"};
    }
    auto [it, fresh] = names.emplace(parsed->version, parsed->name);
    if (!fresh && it->second != parsed->name) {
      return Error{Errc::invalid_argument, "migrations " + set.schema + "/" + it->second + " and " +
                                               set.schema + "/" + parsed->name +
                                               " have the same version"};
    }
    auto& slot = chosen[parsed->version];
    if (!parsed->dialect) {
      slot.first = &file;
    } else if (*parsed->dialect == dialect) {
      slot.second = &file;
    }
  }
  std::vector<Migration> migrations;
  for (const auto& [version, files] : chosen) {
    const MigrationFile* file = files.second != nullptr ? files.second : files.first;
    if (file == nullptr) continue;  // only another dialect's file: nothing to do here
    migrations.push_back({version, names[version], file->sql, sha256_hex(file->sql)});
  }
  return migrations;
}

namespace {

const Query kCreateTable{"stoa.migrations.create_table",
                         "CREATE TABLE IF NOT EXISTS stoa_migrations ("
                         " schema_name TEXT NOT NULL,"
                         " version BIGINT NOT NULL,"
                         " name TEXT NOT NULL,"
                         " checksum TEXT NOT NULL,"
                         " applied_at TEXT NOT NULL,"
                         " PRIMARY KEY (schema_name, version))"};
const Query kLock{"stoa.migrations.lock",
                  "SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(1398034241)) AS l"};
const Query kApplied{"stoa.migrations.applied",
                     "SELECT version, name, checksum FROM stoa_migrations "
                     "WHERE schema_name = $1 ORDER BY version"};
const Query kRecord{"stoa.migrations.record",
                    "INSERT INTO stoa_migrations (schema_name, version, name, checksum, "
                    "applied_at) VALUES ($1, $2, $3, $4, $5)"};

static_assert(kLockKey == "1398034241", "kLock's SQL holds the key");

// Message and name builders live outside the coroutines: GCC 12 miscompiles string literals
// in some coroutine expressions ("array used as initializer").
Error edited_error(const std::string& schema, const Migration& migration,
                   const std::string& recorded) {
  return Error{Errc::conflict, "migration " + schema + "/" + migration.name +
                                   " was edited after it was applied (checksum " + recorded +
                                   " != " + migration.checksum +
                                   "): restore the file and add a new migration instead"};
}

Error statement_error(const std::string& schema, const Migration& migration, std::size_t index,
                      const Error& error) {
  return Error{error.code, "migration " + schema + "/" + migration.name + ", statement " +
                               std::to_string(index + 1) + ": " + error.message};
}

std::string statement_name(const std::string& schema, const Migration& migration,
                           std::size_t index) {
  return "stoa.migration." + schema + "." + migration.name + "." + std::to_string(index + 1);
}

Error locked_error(const std::string& schema) {
  return Error{Errc::timeout,
               "migrations of " + schema + ": the database stayed locked by another process"};
}

struct Step {
  enum class Outcome { applied, up_to_date, retry } outcome = Outcome::up_to_date;
  std::string name;
};

// One transaction: takes the lock, checks what is applied, applies the next pending one.
Awaitable<Result<Step>> apply_next(Database& db, const std::string& schema,
                                   const std::vector<Migration>& migrations) {
  TransactionOptions options;
  options.timeout = kMigrationTimeout;
  auto begun = co_await db.begin(options);
  if (!begun) {
    // SQLite: another process held the write lock past the busy timeout; it is migrating.
    if (begun.error().code == Errc::aborted) co_return Step{Step::Outcome::retry, std::string()};
    co_return begun.error();
  }
  auto& tx = **begun;
  if (db.dialect() == Dialect::postgresql) {
    // The lock first, then a fresh look at what is applied: a second process waits here
    // and then sees the first one's migrations.
    auto locked = co_await tx.execute(kLock, {});
    if (!locked) co_return locked.error();
  }
  auto created = co_await tx.execute(kCreateTable, {});
  if (!created) co_return created.error();
  Params of_schema{schema};
  auto applied = co_await tx.execute(kApplied, std::move(of_schema));
  if (!applied) co_return applied.error();
  std::map<std::int64_t, std::string> checksums;
  for (std::size_t row = 0; row < applied->size(); ++row) {
    checksums[applied->at(row, 0).integer()] = applied->at(row, 2).text();
  }
  const Migration* pending = nullptr;
  for (const auto& migration : migrations) {
    auto it = checksums.find(migration.version);
    if (it == checksums.end()) {
      if (pending == nullptr) pending = &migration;
      continue;
    }
    if (it->second != migration.checksum) {
      co_return edited_error(schema, migration, it->second);
    }
  }
  if (pending == nullptr) {
    auto done = co_await tx.commit();  // keeps the created table
    if (!done) co_return done.error();
    co_return Step{Step::Outcome::up_to_date, std::string()};
  }
  const auto statements = split_sql_script(pending->sql);
  for (std::size_t i = 0; i < statements.size(); ++i) {
    const std::string name = statement_name(schema, *pending, i);
    auto ran = co_await tx.execute(Query{name, statements[i]}, {});
    if (!ran) {
      co_return statement_error(schema, *pending, i, ran.error());
    }
  }
  // Params built before the co_await: GCC 12 cannot keep an initializer list's array in a
  // coroutine frame.
  Params record{schema, pending->version, pending->name, pending->checksum,
                rfc3339_seconds(std::chrono::system_clock::now())};
  auto recorded = co_await tx.execute(kRecord, std::move(record));
  if (!recorded) co_return recorded.error();
  auto committed = co_await tx.commit();
  if (!committed) {
    if (committed.error().code == Errc::aborted)
      co_return Step{Step::Outcome::retry, std::string()};
    co_return committed.error();
  }
  co_return Step{Step::Outcome::applied, pending->name};
}

}  // namespace

Awaitable<Result<std::vector<std::string>>> apply_migrations(Database& db, MigrationSet set) {
  auto migrations = migrations_for(set, db.dialect());
  if (!migrations) co_return migrations.error();
  std::vector<std::string> applied;
  const auto give_up = std::chrono::steady_clock::now() + kMigrationTimeout;
  boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
  for (;;) {
    auto step = co_await apply_next(db, set.schema, *migrations);
    if (!step) co_return step.error();
    if (step->outcome == Step::Outcome::up_to_date) break;
    if (step->outcome == Step::Outcome::applied) {
      applied.push_back(step->name);
      continue;
    }
    if (std::chrono::steady_clock::now() >= give_up) {
      co_return locked_error(set.schema);
    }
    pause.expires_after(std::chrono::milliseconds(50));
    co_await pause.async_wait(boost::asio::use_awaitable);
  }
  co_return applied;
}

namespace {

void apply_before_loop(ComponentHost& host, const MigrationSet& set) {
  auto db = database(host);
  Result<std::vector<std::string>> result = Error{Errc::internal, "not run"};
  run_before_loop(host.loop(),
                  [&]() -> Awaitable<void> { result = co_await apply_migrations(*db, set); });
  if (!result) throw std::runtime_error(result.error().message);
  for (const auto& name : *result) {
    obs::log(obs::Level::info, "database", "migration applied",
             {{"schema", set.schema}, {"migration", name}});
  }
}

}  // namespace

std::optional<MigrationSet> registered_migrations(std::string_view schema) {
  for (auto& candidate : registered_migrations()) {
    if (candidate.schema == schema) return std::move(candidate);
  }
  return std::nullopt;
}

void apply_migrations(ComponentHost& host, const std::string& schema) {
  if (!host.config().boolean("database.migrate")) return;
  std::optional<MigrationSet> set = registered_migrations(schema);
  if (!set) throw std::logic_error("no migrations are registered for schema " + schema);
  apply_before_loop(host, *set);
}

void apply_configured_migrations(ComponentHost& host) {
  const std::string& dir = host.config().string("database.migrations_dir");
  if (dir.empty() || !host.config().boolean("database.migrate")) return;
  auto sets = read_migration_dir(dir);
  if (!sets) throw std::runtime_error("database.migrations_dir: " + sets.error().message);
  for (const auto& set : *sets) apply_before_loop(host, set);
}

}  // namespace stoa::sql
