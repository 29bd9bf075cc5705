#include "app/events.h"

#include <charconv>
#include <iostream>
#include <optional>

#include "data/sql/sql.h"
#include "messaging/broker.h"
#include "messaging/outbox.h"
#include "runtime/config.h"
#include "runtime/event_loop.h"
#include "runtime/run_before_loop.h"

namespace stoa::app {

const char* const kEventsUsage =
    R"(  events dlq list [--group G] [--limit N]
                       list dead letters, oldest first (every group, or G; at most N per
                       group, default 100)
  events dlq replay ID|--all [--group G]
                       put dead letter ID (or all of them) back into its group
  events outbox status
                       unsent outbox events: how many, the oldest's age, failed attempts
)";

namespace {

constexpr std::size_t kMaxListed = 10000;
// --all replays at most this many per group in one run (the listing is held in memory).
constexpr std::size_t kMaxReplayed = 100000;

struct Arguments {
  std::vector<std::string> words;
  std::optional<std::string> group;
  std::optional<std::string> limit;
  bool all = false;
};

int usage_error(const std::string& message) {
  std::cerr << "stoa: " << message << "\n\nUsage:\n" << kEventsUsage;
  return 2;
}

int failure(const std::string& message) {
  std::cerr << "stoa: " << message << "\n";
  return 1;
}

std::optional<std::uint64_t> parse_number(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Runs one coroutine to completion on a loop of its own.
template <class T>
T run_sync(EventLoop& loop, const std::function<Awaitable<T>()>& make) {
  std::optional<T> out;
  run_before_loop(loop, [&]() -> Awaitable<void> { out.emplace(co_await make()); });
  return std::move(*out);
}

std::string seconds(std::chrono::milliseconds age) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1fs", static_cast<double>(age.count()) / 1000.0);
  return text;
}

// A broker of one process at a time (the embedded one) is in use by `stoa up`: say what to do.
std::string broker_error(const Error& error) {
  std::string message = "cannot open the broker: " + error.message;
  if (error.code == Errc::conflict) {
    message += " (stop the process that runs the workers, then run this again)";
  }
  return message;
}

// The groups to act on: the one named (the broker says whether it exists: RabbitMQ lists
// only the groups this process declared), or every group the broker lists.
Result<std::vector<std::string>> group_names(EventLoop& loop, messaging::Broker& broker,
                                             const std::optional<std::string>& group) {
  if (group) return std::vector<std::string>{*group};
  auto groups = run_sync<Result<std::vector<messaging::GroupStatus>>>(
      loop, [&]() -> Awaitable<Result<std::vector<messaging::GroupStatus>>> {
        co_return co_await broker.groups();
      });
  if (!groups) return groups.error();
  std::vector<std::string> names;
  for (const auto& status : *groups) names.push_back(status.name);
  return names;
}

Result<std::vector<messaging::DeadLetter>> dead_letters(EventLoop& loop, messaging::Broker& broker,
                                                        const std::string& group,
                                                        std::size_t limit) {
  auto found = run_sync<Result<std::vector<messaging::DeadLetter>>>(
      loop, [&]() -> Awaitable<Result<std::vector<messaging::DeadLetter>>> {
        co_return co_await broker.dead_letters(group, limit);
      });
  if (!found && found.error().code == Errc::not_found) {
    return Error{Errc::not_found, "no consumer group " + quote_for_message(group)};
  }
  return found;
}

Status replay(EventLoop& loop, messaging::Broker& broker, const std::string& group,
              std::uint64_t tag) {
  return run_sync<Status>(loop, [&]() -> Awaitable<Status> {
    co_return co_await broker.replay_dead_letter(group, tag);
  });
}

int dlq_list(EventLoop& loop, messaging::Broker& broker, const Arguments& args) {
  std::size_t limit = 100;
  if (args.limit) {
    auto n = parse_number(*args.limit);
    if (!n || *n == 0 || *n > kMaxListed) {
      return usage_error("--limit must be a number from 1 to " + std::to_string(kMaxListed));
    }
    limit = static_cast<std::size_t>(*n);
  }
  auto names = group_names(loop, broker, args.group);
  if (!names) return failure(names.error().message);
  std::size_t total = 0;
  for (const auto& group : *names) {
    auto letters = dead_letters(loop, broker, group, limit);
    if (!letters) return failure(letters.error().message);
    for (const auto& letter : *letters) {
      if (total++ == 0) std::cout << "GROUP\tID\tATTEMPTS\tDEAD SINCE\tTYPE\tEVENT ID\tREASON\n";
      const auto& event = letter.message.event;
      std::cout << group << '\t' << letter.tag << '\t' << letter.attempts << '\t' << letter.time
                << '\t' << quote_for_message(event.type, 128) << '\t'
                << quote_for_message(event.id, 128) << '\t' << quote_for_message(letter.reason, 512)
                << '\n';
    }
  }
  if (total == 0) std::cout << "no dead letters\n";
  return 0;
}

int dlq_replay(EventLoop& loop, messaging::Broker& broker, const Arguments& args) {
  if (args.all == (args.words.size() == 3)) {
    return usage_error("'events dlq replay' needs a dead letter's ID or --all");
  }
  if (args.words.size() > 3) return usage_error("'events dlq replay' takes one ID");
  auto names = group_names(loop, broker, args.group);
  if (!names) return failure(names.error().message);

  if (args.all) {
    std::size_t replayed = 0;
    for (const auto& group : *names) {
      auto letters = dead_letters(loop, broker, group, kMaxReplayed);
      if (!letters) return failure(letters.error().message);
      for (const auto& letter : *letters) {
        auto done = replay(loop, broker, group, letter.tag);
        if (!done && done.error().code != Errc::not_found) return failure(done.error().message);
        if (done) ++replayed;
      }
      if (letters->size() == kMaxReplayed) {
        std::cout << group << ": more dead letters remain; run the command again\n";
      }
    }
    std::cout << "replayed " << replayed << " dead letter" << (replayed == 1 ? "" : "s") << "\n";
    return 0;
  }

  auto tag = parse_number(args.words[2]);
  if (!tag) return usage_error("a dead letter's ID is a number (see 'stoa events dlq list')");
  // An ID names a message; with several groups holding it dead, the operator picks one.
  std::vector<std::string> holding;
  for (const auto& group : *names) {
    auto letters = dead_letters(loop, broker, group, kMaxReplayed);
    if (!letters) return failure(letters.error().message);
    for (const auto& letter : *letters) {
      if (letter.tag == *tag) holding.push_back(group);
    }
  }
  if (holding.empty()) {
    return failure("no dead letter " + std::to_string(*tag) +
                   (args.group ? " in group " + *args.group : std::string()));
  }
  if (holding.size() > 1) {
    std::string list;
    for (const auto& g : holding) list += (list.empty() ? "" : ", ") + g;
    return usage_error("dead letter " + std::to_string(*tag) + " is in groups " + list +
                       ": name one with --group");
  }
  auto done = replay(loop, broker, holding.front(), *tag);
  if (!done) return failure(done.error().message);
  std::cout << "replayed dead letter " << *tag << " into group " << holding.front() << "\n";
  return 0;
}

int outbox_status(const Config& config, EventLoop& loop) {
  auto opened = sql::open_database(sql::DatabaseOptions::from_config(config), loop, nullptr);
  if (!opened) return failure("cannot open the database: " + opened.error().message);
  auto db = std::move(opened).value();
  auto status = run_sync<Result<messaging::OutboxStatus>>(
      loop, [&]() -> Awaitable<Result<messaging::OutboxStatus>> {
        co_return co_await messaging::outbox_status(*db);
      });
  db->close();
  if (!status) {
    std::string hint = status.error().code == Errc::invalid_argument
                           ? " (has the messaging schema been migrated? 'stoa migrate messaging')"
                           : "";
    return failure("cannot read the outbox: " + status.error().message + hint);
  }
  std::cout << "pending: " << status->pending << "\n";
  std::cout << "oldest pending: " << (status->pending ? seconds(status->oldest_age) : "-") << "\n";
  std::cout << "failing: " << status->failing;
  if (status->failing > 0) {
    std::cout << " (most failed attempts: " << status->max_attempts
              << ", last error: " << quote_for_message(status->last_error, 512) << ")";
  }
  std::cout << "\n";
  std::cout << "claimed by a relay: " << status->claimed << "\n";
  std::cout << "sent, kept until pruned: " << status->sent << "\n";
  return 0;
}

}  // namespace

int run_events(const Config& config, const std::vector<std::string>& raw) {
  Arguments args;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::string& arg = raw[i];
    if (arg == "--group" || arg == "--limit") {
      if (i + 1 >= raw.size()) return usage_error(arg + " needs a value");
      (arg == "--group" ? args.group : args.limit) = raw[++i];
    } else if (arg == "--all") {
      args.all = true;
    } else if (arg.starts_with("-")) {
      return usage_error("unknown option " + arg + " for 'events'");
    } else {
      args.words.push_back(arg);
    }
  }
  const auto& w = args.words;
  const bool list = w.size() == 2 && w[0] == "dlq" && w[1] == "list";
  const bool replay_command = w.size() >= 2 && w[0] == "dlq" && w[1] == "replay";
  const bool status = w.size() == 2 && w[0] == "outbox" && w[1] == "status";
  if (!list && !replay_command && !status) {
    return usage_error(w.empty() ? "'events' needs a command"
                                 : "unknown 'events' command '" + w[0] +
                                       (w.size() > 1 ? " " + w[1] : std::string()) + "'");
  }
  if (args.limit && !list) return usage_error("--limit is for 'events dlq list'");
  if (args.all && !replay_command) return usage_error("--all is for 'events dlq replay'");
  if (args.group && status) return usage_error("--group is for the 'events dlq' commands");

  EventLoop loop(1);
  if (status) return outbox_status(config, loop);
  auto opened =
      messaging::open_broker(messaging::BrokerOptions::from_config(config), loop, nullptr);
  if (!opened) return failure(broker_error(opened.error()));
  auto broker = std::move(opened).value();
  const int code = list ? dlq_list(loop, *broker, args) : dlq_replay(loop, *broker, args);
  broker->close();
  return code;
}

}  // namespace stoa::app
