// open_database(): picks the driver by the URL's scheme; database(): the process's one
// database, shared by its components.
#include <stdexcept>

#include "data/sql/driver.h"
#include "data/sql/sql.h"
#include "runtime/backend_registry.h"
#include "runtime/component.h"
#include "runtime/config.h"
#include "runtime/shared_client.h"

namespace stoa::sql {

namespace {

BackendRegistry<DriverFactory>& drivers() {
  static BackendRegistry<DriverFactory> registry("database.url");
  return registry;
}

}  // namespace

bool register_driver(std::string scheme, DriverFactory factory) {
  return drivers().add(std::move(scheme), std::move(factory));
}

DatabaseOptions DatabaseOptions::from_config(const Config& config) {
  DatabaseOptions options;
  options.url = config.string("database.url");
  options.replicas = config.strings("database.replicas");
  const auto pool = config.integer("database.pool_size");
  if (pool < 1 || pool > 1000) {
    throw std::invalid_argument("database.pool_size must be between 1 and 1000, not " +
                                std::to_string(pool));
  }
  options.pool_size = static_cast<std::size_t>(pool);
  options.connect_timeout = config.duration("database.connect_timeout");
  options.statement_timeout = config.duration("database.statement_timeout");
  options.max_replica_lag = config.duration("database.max_replica_lag");
  options.replica_check_interval = config.duration("database.replica_check_interval");
  options.fresh_read_timeout = config.duration("database.fresh_read_timeout");
  return options;
}

Result<std::shared_ptr<Database>> open_database(const DatabaseOptions& options, EventLoop& loop,
                                                obs::Telemetry* telemetry) {
  auto factory = drivers().find(options.url);
  if (!factory) return factory.error();
  if (!options.replicas.empty() && url_scheme(options.url) == "sqlite") {
    return Error{Errc::invalid_argument,
                 "database.replicas is for PostgreSQL; SQLite has no read replicas"};
  }
  return (*factory)(options, loop, telemetry);
}

std::shared_ptr<Database> database(ComponentHost& host) {
  return shared_client<Database>(host, "database", [&host]() -> std::shared_ptr<Database> {
    auto options = DatabaseOptions::from_config(host.config());
    auto opened = open_database(options, host.loop(), &host.telemetry());
    if (!opened) throw std::runtime_error("cannot open the database: " + opened.error().message);
    return std::move(opened).value();
  });
}

}  // namespace stoa::sql
