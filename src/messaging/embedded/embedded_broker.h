#pragma once
// The embedded broker (`embedded://DIR`, the default): Stoa's own durable broker, for one
// process. Every state change is a record in an append-only log (records.h) written with
// group commit (log_writer.h); replaying the log at open rebuilds the state, so kill -9
// loses nothing that was confirmed. Pending messages are held in memory (the log is the
// copy on disk). docs/messaging.md describes the decisions.
#include <memory>
#include <string>

#include "messaging/broker.h"
#include "messaging/embedded/segment_log.h"

namespace stoa::messaging::embedded {

// Opens (creating, or recovering) the broker in `dir`. Errc::conflict when another process
// has it open; Errc::io when the log is corrupt before its last record.
Result<std::shared_ptr<Broker>> open_embedded(const BrokerOptions& options, const std::string& dir,
                                              RecoveryReport* report = nullptr);

// "embedded://data/events" -> "data/events"; "embedded:///var/lib/stoa" -> "/var/lib/stoa".
Result<std::string> embedded_dir(const std::string& url);

}  // namespace stoa::messaging::embedded
