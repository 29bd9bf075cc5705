#pragma once
// The drivers behind open_database(): each registers itself for its URL schemes from its
// own .cpp (as components do), so the interface never names an engine.
#include <functional>
#include <memory>
#include <string>

#include "data/sql/sql.h"

namespace stoa::sql {

using DriverFactory = std::function<Result<std::shared_ptr<Database>>(
    const DatabaseOptions& options, EventLoop& loop, obs::Telemetry* telemetry)>;

// Returns true so that it can initialise a namespace-scope constant:
//   [[maybe_unused]] const bool registered = register_driver("sqlite", open_sqlite);
bool register_driver(std::string scheme, DriverFactory factory);

}  // namespace stoa::sql
