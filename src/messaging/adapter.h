#pragma once
// The adapters behind open_broker(): each registers itself for its URL scheme from its own
// .cpp (as SQL drivers do), so the interface never names an engine.
#include <functional>
#include <memory>
#include <string>

#include "messaging/broker.h"

namespace stoa::messaging {

using AdapterFactory = std::function<Result<std::shared_ptr<Broker>>(
    const BrokerOptions& options, EventLoop& loop, obs::Telemetry* telemetry)>;

// Returns true so that it can initialise a namespace-scope constant:
//   [[maybe_unused]] const bool registered = register_adapter("embedded", open_embedded);
bool register_adapter(std::string scheme, AdapterFactory factory);

}  // namespace stoa::messaging
