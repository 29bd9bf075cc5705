#pragma once
// `stoa events …`: the operator's commands over the broker's dead letters and the outbox.
//
//   stoa events dlq list [--group G] [--limit N]
//   stoa events dlq replay ID|--all [--group G]
//   stoa events outbox status
//
// They open broker.url and database.url like the process does. The embedded broker
// belongs to one process: with `stoa up` running on the same directory the dlq commands
// say so and exit 1 (stop the process first; RabbitMQ and Kafka have no such limit).
#include <string>
#include <vector>

namespace stoa {
class Config;
}

namespace stoa::app {

// `args` follow "events". Writes what it did to stdout, errors to stderr. Returns the exit
// code: 0 done, 1 the operation failed (unreachable backend, no such dead letter), 2 a usage
// error.
int run_events(const Config& config, const std::vector<std::string>& args);

// The usage lines of `stoa events`, for stoa's own usage text.
extern const char* const kEventsUsage;

}  // namespace stoa::app
