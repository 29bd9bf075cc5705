#pragma once
// `stoa migrate [--dir DIR] [SCHEMA...]`: applies migrations to database.url and says what
// it applied.
#include <string>
#include <vector>

namespace stoa {
class Config;
}

namespace stoa::app {

// The embedded sets (or DIR's, one folder per schema), all or the named ones. Returns the
// exit code: 0 applied or up to date, 1 a migration failed, 2 a usage error.
int run_migrate(const Config& config, const std::string& dir,
                const std::vector<std::string>& schemas);

}  // namespace stoa::app
