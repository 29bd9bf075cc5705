#include "app/cli.h"

#include <iostream>
#include <string>
#include <vector>

#include "app/events.h"
#include "app/migrate.h"
#include "app/process.h"
#include "observability/log.h"
#include "runtime/component.h"
#include "runtime/config.h"

namespace stoa::app {

namespace {

constexpr const char* kUsage = R"(Usage: stoa [--config FILE] COMMAND [ARGS]

Commands:
  up                   run every component in one process, on the configured backends
                       (embedded defaults: nothing to install, nothing to start)
  serve COMPONENT...   run only the named components (for many processes behind the
                       load balancer); the admin listener always runs
  components           list the components this binary has
  config               print the effective configuration and where each value came from
  migrate [--dir DIR] [SCHEMA...]
                       apply pending database migrations (all schemas, or the named ones)
                       to database.url; --dir DIR: the sets in DIR/<schema>/*.sql instead
                       of the embedded ones
  version              print the version

Options:
  --config FILE        a stoa.toml overriding the embedded defaults (config/stoa.toml);
                       STOA_<SECTION>_<KEY> environment variables override both
  -h, --help           this text

Signals: SIGTERM or SIGINT stops accepting, lets requests and event deliveries in flight
finish within process.shutdown_timeout, and exits 0.
)";

// The usage text: stoa's own commands, then those of `stoa events`.
std::string usage() {
  std::string text = kUsage;
  const std::string options = "\nOptions:";
  text.insert(text.find(options), kEventsUsage);
  return text;
}

int usage_error(const std::string& message) {
  std::cerr << "stoa: " << message << "\n\n" << usage();
  return 2;
}

std::string component_list() {
  std::string names;
  for (const auto& info : registered_components()) {
    if (!names.empty()) names += ", ";
    names += info.name;
  }
  return names;
}

std::string describe(const Config::Value& value) {
  struct {
    std::string operator()(const std::string& s) const { return '"' + s + '"'; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return std::to_string(d); }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(const std::vector<std::string>& list) const {
      std::string out = "[";
      for (std::size_t i = 0; i < list.size(); ++i) out += (i ? ", \"" : "\"") + list[i] + '"';
      return out + "]";
    }
  } visitor;
  return std::visit(visitor, value);
}

}  // namespace

int run_cli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string config_file;
  std::string migrations_dir;  // stoa migrate --dir
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    // `stoa events …` has options of its own (--group, --limit, --all): pass them on. Its
    // --help, wherever it stands, prints the events commands' usage.
    if (!rest.empty() && rest.front() == "events" && arg != "--config" &&
        !arg.starts_with("--config=")) {
      if (arg == "-h" || arg == "--help") {
        std::cout << "Usage:\n" << kEventsUsage;
        return 0;
      }
      rest.push_back(arg);
      continue;
    }
    if (arg == "-h" || arg == "--help" || arg == "help") {
      std::cout << usage();
      return 0;
    }
    if (arg == "--config") {
      if (i + 1 >= args.size()) return usage_error("--config needs a file");
      config_file = args[++i];
    } else if (arg.starts_with("--config=")) {
      config_file = arg.substr(9);
    } else if (arg == "--dir") {
      if (i + 1 >= args.size()) return usage_error("--dir needs a directory");
      migrations_dir = args[++i];
    } else if (arg.starts_with("-")) {
      return usage_error("unknown option " + arg);
    } else {
      rest.push_back(arg);
    }
  }
  if (rest.empty()) return usage_error("no command given");
  const std::string command = rest.front();
  std::vector<std::string> operands(rest.begin() + 1, rest.end());

  if (command == "version") {
    std::cout << "stoa " << STOA_VERSION << "\n";
    return 0;
  }
  if (command == "components") {
    for (const auto& info : registered_components()) {
      std::cout << info.name << "\t" << info.description << "\n";
    }
    return 0;
  }
  if (command != "up" && command != "serve" && command != "config" && command != "migrate" &&
      command != "events") {
    return usage_error("unknown command '" + command + "'");
  }
  if (command == "up" && !operands.empty()) return usage_error("'up' takes no arguments");
  if (!migrations_dir.empty() && command != "migrate") return usage_error("--dir is for 'migrate'");
  if (command == "serve") {
    if (operands.empty()) {
      return usage_error("'serve' needs one or more components: " + component_list());
    }
    for (const auto& name : operands) {
      bool known = false;
      for (const auto& info : registered_components()) known = known || info.name == name;
      if (!known) {
        return usage_error("unknown component '" + name + "'; known: " + component_list());
      }
    }
  }

  auto config = Config::load(config_file, process_environment());
  if (!config) {
    std::cerr << "stoa: configuration error: " << config.error().message << "\n";
    return 2;
  }
  if (command == "config") {
    for (const auto& key : config->keys()) {
      std::cout << key << " = " << describe(config->value(key)) << "  # " << config->source(key)
                << "\n";
    }
    return 0;
  }
  try {
    obs::configure_logging(*config);
    if (command == "migrate") return run_migrate(*config, migrations_dir, operands);
    if (command == "events") return run_events(*config, operands);
    Process process(std::move(config).value());
    return process.run(operands);
  } catch (const std::exception& e) {
    std::cerr << "stoa: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace stoa::app
