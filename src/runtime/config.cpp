#include "runtime/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>
#include <stdexcept>
#include <utility>

#include <toml++/toml.h>

namespace stoa::embedded {
std::string_view default_config();  // generated from config/stoa.toml (cmake/StoaEmbed.cmake)
}  // namespace stoa::embedded

namespace stoa {
namespace {

// ---- value kinds ---------------------------------------------------------------------------

enum class Kind { plain, duration, size, listen, level };

std::string_view last_component(std::string_view key) {
  const auto dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

Kind kind_of(std::string_view key) {
  const auto name = last_component(key);
  if (name.ends_with("_timeout") || name.ends_with("_interval") || name.ends_with("_ttl") ||
      name.ends_with("_lag") || name.ends_with("_delay") || name.ends_with("_skew"))
    return Kind::duration;
  if (name.ends_with("_bytes")) return Kind::size;
  if (name == "listen" || name.ends_with("_listen")) return Kind::listen;
  if (name == "level") return Kind::level;
  return Kind::plain;
}

constexpr const char* kDurationForm =
    "a duration such as \"250ms\", \"10s\", \"5m\" or \"1h\" (an integer followed by ms, s, m "
    "or h, up to 30 days)";
constexpr const char* kSizeForm =
    "a size: an integer number of bytes or a string such as \"16KiB\" or \"256MiB\" (units B, "
    "KiB, MiB, GiB, TiB, or decimal KB, MB, GB, TB)";
constexpr const char* kListenForm =
    "\"host:port\" (port 0-65535, an IPv6 host in brackets: \"[::1]:8000\")";
constexpr const char* kLevelForm = "one of debug, info, warn, error";

bool valid_level(std::string_view text) {
  return text == "debug" || text == "info" || text == "warn" || text == "error";
}

// ---- text helpers --------------------------------------------------------------------------

// Values are echoed in messages quoted, bounded, with control bytes escaped.
std::string quoted(std::string_view text) {
  return quote_for_message(text, 80);
}

// Digits only (no sign, no spaces); nullopt when empty, not all digits, or over uint64.
std::optional<std::uint64_t> parse_digits(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::size_t leading_digits(std::string_view text) {
  std::size_t n = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') ++n;
  return n;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const char* value_type_name(const Config::Value& value) {
  switch (value.index()) {
    case 0:
      return "a string";
    case 1:
      return "an integer";
    case 2:
      return "a float";
    case 3:
      return "a boolean (true or false)";
    default:
      return "an array of strings";
  }
}

const char* node_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "nothing";
  }
}

// An array whose elements are all strings (or an empty array); nullopt otherwise.
std::optional<std::vector<std::string>> string_array(const toml::node& node) {
  const auto* array = node.as_array();
  if (array == nullptr) return std::nullopt;
  std::vector<std::string> strings;
  for (const auto& element : *array) {
    const auto* s = element.as_string();
    if (s == nullptr) return std::nullopt;
    strings.push_back(s->get());
  }
  return strings;
}

// ---- loading -------------------------------------------------------------------------------

struct Item {
  Config::Value value;
  std::string source;
};
using Items = std::map<std::string, Item, std::less<>>;

class Loader {
 public:
  Items items;

  void error(std::string message) { errors_.push_back(std::move(message)); }
  bool failed() const { return !errors_.empty(); }

  Error result_error() const {
    constexpr std::size_t kMaxReported = 20;
    std::string message;
    for (std::size_t i = 0; i < errors_.size() && i < kMaxReported; ++i) {
      if (i != 0) message += "; ";
      message += errors_[i];
    }
    if (errors_.size() > kMaxReported) {
      message += "; and " + std::to_string(errors_.size() - kMaxReported) + " more errors";
    }
    return Error{Errc::invalid_argument, message};
  }

  // Parses TOML text; reports a syntax error as "where:line:column: ...".
  std::optional<toml::table> parse_toml(std::string_view text, const std::string& where) {
    try {
      return toml::parse(text, where);
    } catch (const toml::parse_error& e) {
      const auto& begin = e.source().begin;
      error(where + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column) +
            ": TOML syntax error: " + std::string(e.description()));
      return std::nullopt;
    }
  }

  // The defaults define every key, its type and (by name) its kind; they must validate too.
  void add_defaults(const toml::table& table, const std::string& prefix) {
    for (const auto& [name, node] : table) {
      const std::string key = join(prefix, name.str());
      if (const auto* sub = node.as_table()) {
        add_defaults(*sub, key);
        continue;
      }
      const std::string where = "defaults:" + std::to_string(node.source().begin.line);
      std::optional<Config::Value> value;
      if (const auto* s = node.as_string()) {
        value = s->get();
      } else if (const auto* i = node.as_integer()) {
        value = i->get();
      } else if (const auto* f = node.as_floating_point()) {
        value = f->get();
      } else if (const auto* b = node.as_boolean()) {
        value = b->get();
      } else if (auto strings = string_array(node)) {
        value = std::move(*strings);
      }
      if (!value) {
        error(where + ": " + key + ": unsupported default type " + node_type_name(node) +
              " (use a string, integer, float, boolean or array of strings)");
        continue;
      }
      if (auto problem = check_kind(key, *value)) {
        error(where + ": " + key + ": expected " + *problem);
        continue;
      }
      items[key] = Item{std::move(*value), "default"};
    }
  }

  void index_defaults() {
    std::map<std::string, std::string> env_names;
    for (const auto& [key, item] : items) {
      for (auto dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1)) {
        sections_.insert(key.substr(0, dot));
      }
      const auto [it, inserted] = env_names.emplace(Config::env_name(key), key);
      if (!inserted) {
        error("defaults: keys " + it->second + " and " + key + " share the environment variable " +
              it->first);
      }
    }
  }

  // Reports problems in the order of the file's lines (toml++ iterates tables by key).
  void apply_file(const toml::table& table, const std::string& path) {
    std::vector<std::pair<std::uint32_t, std::string>> problems;
    walk_file(table, "", path, problems);
    std::stable_sort(problems.begin(), problems.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [line, message] : problems) error(std::move(message));
  }

  void walk_file(const toml::table& table, const std::string& prefix, const std::string& path,
                 std::vector<std::pair<std::uint32_t, std::string>>& problems) {
    for (const auto& [name, node] : table) {
      const std::string key = join(prefix, name.str());
      const std::uint32_t line = node.source().begin.line;
      const std::string where = path + ":" + std::to_string(line);
      const auto report = [&](std::string message) {
        problems.emplace_back(line, std::move(message));
      };
      if (auto it = items.find(key); it != items.end()) {
        auto value = from_toml(key, it->second.value, node);
        if (auto* problem = std::get_if<std::string>(&value)) {
          report(where + ": " + key + ": expected " + *problem);
        } else {
          it->second = Item{std::get<Config::Value>(std::move(value)), path};
        }
        continue;
      }
      if (const auto* sub = node.as_table()) {
        if (sections_.contains(key) || !sub->empty()) {
          walk_file(*sub, key, path, problems);  // an unknown section reports each of its keys
        } else {
          report(where + ": unknown section [" + key + "]" + suggestion(key));
        }
        continue;
      }
      if (sections_.contains(key)) {
        report(where + ": " + key + " is a section, not a value");
      } else {
        report(where + ": unknown key " + key + suggestion(key));
      }
    }
  }

  void apply_environment(const Environment& env) {
    if (!env) return;
    for (auto& [key, item] : items) {
      const std::string name = Config::env_name(key);
      const auto text = env(name);
      if (!text) continue;
      auto value = from_text(key, item.value, *text);
      if (auto* problem = std::get_if<std::string>(&value)) {
        error("env " + name + ": " + key + ": expected " + *problem);
      } else {
        item = Item{std::get<Config::Value>(std::move(value)), "env " + name};
      }
    }
  }

 private:
  static std::string join(const std::string& prefix, std::string_view name) {
    return prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
  }

  // nullopt when `value` is acceptable for the key's kind, else what was expected.
  static std::optional<std::string> check_kind(std::string_view key, const Config::Value& value) {
    const auto* text = std::get_if<std::string>(&value);
    switch (kind_of(key)) {
      case Kind::plain:
        return std::nullopt;
      case Kind::duration:
        if (text && parse_duration(*text)) return std::nullopt;
        return std::string(kDurationForm) + ", got " + describe(value);
      case Kind::size:
        if (text ? parse_size(*text).has_value()
                 : (std::holds_alternative<std::int64_t>(value) && std::get<1>(value) >= 0)) {
          return std::nullopt;
        }
        return std::string(kSizeForm) + ", got " + describe(value);
      case Kind::listen:
        if (text && parse_listen_address(*text)) return std::nullopt;
        return std::string(kListenForm) + ", got " + describe(value);
      case Kind::level:
        if (text && valid_level(*text)) return std::nullopt;
        return std::string(kLevelForm) + ", got " + describe(value);
    }
    return std::nullopt;
  }

  static std::string describe(const Config::Value& value) {
    if (const auto* text = std::get_if<std::string>(&value)) return quoted(*text);
    if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
    return value_type_name(value);
  }

  // A file value: the default's type (an integer also fills a float), then the key's kind.
  // Returns the value or what was expected.
  static std::variant<Config::Value, std::string> from_toml(std::string_view key,
                                                            const Config::Value& def,
                                                            const toml::node& node) {
    std::optional<Config::Value> value;
    const Kind kind = kind_of(key);
    if (kind == Kind::size) {
      if (const auto* s = node.as_string()) value = s->get();
      if (const auto* i = node.as_integer()) value = i->get();
    } else if (kind != Kind::plain) {
      if (const auto* s = node.as_string()) value = s->get();
    } else {
      switch (def.index()) {
        case 0:
          if (const auto* s = node.as_string()) value = s->get();
          break;
        case 1:
          if (const auto* i = node.as_integer()) value = i->get();
          break;
        case 2:
          if (const auto* f = node.as_floating_point()) value = f->get();
          if (const auto* i = node.as_integer()) value = static_cast<double>(i->get());
          break;
        case 3:
          if (const auto* b = node.as_boolean()) value = b->get();
          break;
        default:
          if (auto strings = string_array(node)) value = std::move(*strings);
          break;
      }
      if (!value) return std::string(value_type_name(def)) + ", got " + node_type_name(node);
    }
    if (!value) {
      const char* form = kind == Kind::duration ? kDurationForm
                         : kind == Kind::size   ? kSizeForm
                         : kind == Kind::listen ? kListenForm
                                                : kLevelForm;
      return std::string(form) + ", got " + node_type_name(node);
    }
    if (auto problem = check_kind(key, *value)) return std::move(*problem);
    return std::move(*value);
  }

  // An environment value, read as the default's type; kinds other than plain are strings.
  static std::variant<Config::Value, std::string> from_text(std::string_view key,
                                                            const Config::Value& def,
                                                            const std::string& text) {
    Config::Value value;
    if (kind_of(key) != Kind::plain) {
      value = text;
    } else {
      switch (def.index()) {
        case 0:
          value = text;
          break;
        case 1: {
          std::int64_t i = 0;
          const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
          if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
            return std::string("an integer, got ") + quoted(text);
          }
          value = i;
          break;
        }
        case 2: {
          double d = 0;
          const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
          if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
              !std::isfinite(d)) {
            return std::string("a number, got ") + quoted(text);
          }
          value = d;
          break;
        }
        case 3:
          if (text == "true" || text == "1") {
            value = true;
          } else if (text == "false" || text == "0") {
            value = false;
          } else {
            return std::string("true, false, 1 or 0, got ") + quoted(text);
          }
          break;
        default: {
          // Comma-separated; spaces around items are dropped; "" is the empty list.
          std::vector<std::string> strings;
          std::string_view rest = text;
          while (!text.empty()) {  // leaves by break
            const auto comma = rest.find(',');
            std::string_view item = rest.substr(0, comma);
            while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
            while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
            if (item.empty()) {
              return std::string("a comma-separated list without empty items, got ") + quoted(text);
            }
            strings.emplace_back(item);
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
          }
          value = std::move(strings);
          break;
        }
      }
    }
    if (auto problem = check_kind(key, value)) return std::move(*problem);
    return value;
  }

  std::string suggestion(std::string_view unknown) const {
    std::string best;
    std::size_t best_distance = 3;  // suggest only close matches
    for (const auto& [key, item] : items) {
      const std::size_t d = edit_distance(unknown, key);
      if (d < best_distance) {
        best_distance = d;
        best = key;
      }
    }
    if (best.empty()) {
      for (const auto& section : sections_) {
        const std::size_t d = edit_distance(unknown, section);
        if (d < best_distance) {
          best_distance = d;
          best = "[" + section + "]";
        }
      }
    }
    if (best.empty()) {
      // The right name in the wrong section: "[http] level" -> log.level.
      const auto name = last_component(unknown);
      for (const auto& [key, item] : items) {
        if (last_component(key) != name) continue;
        if (!best.empty()) return "";  // ambiguous
        best = key;
      }
    }
    return best.empty() ? "" : " (did you mean " + best + "?)";
  }

  std::vector<std::string> errors_;
  std::set<std::string, std::less<>> sections_;
};

// Reads a whole file, bounded; errors name the path.
Result<std::string> read_file(const std::string& path) {
  constexpr std::size_t kMaxBytes = 1024 * 1024;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Error{Errc::invalid_argument,
                 "cannot open config file " + path + ": " + std::strerror(errno)};
  }
  std::string content;
  char buffer[8192];
  bool read_error = false;
  int saved_errno = 0;
  while (true) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file);
    content.append(buffer, n);
    if (content.size() > kMaxBytes) break;
    if (n < sizeof buffer) {
      if (std::ferror(file)) {
        read_error = true;
        saved_errno = errno;
      }
      break;
    }
  }
  std::fclose(file);
  if (read_error) {
    return Error{Errc::invalid_argument,
                 "cannot read config file " + path + ": " + std::strerror(saved_errno)};
  }
  if (content.size() > kMaxBytes) {
    return Error{Errc::invalid_argument,
                 "config file " + path + " is larger than " + std::to_string(kMaxBytes) + " bytes"};
  }
  return content;
}

[[noreturn]] void misuse(std::string_view key, const char* what) {
  throw std::logic_error("configuration key " + std::string(key) + " " + what);
}

}  // namespace

// ---- parsers -------------------------------------------------------------------------------

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  constexpr std::uint64_t kMaxMs = 30ull * 24 * 60 * 60 * 1000;  // 30 days
  const std::size_t n = leading_digits(text);
  const auto number = parse_digits(text.substr(0, n));
  if (!number) return std::nullopt;
  const auto unit = text.substr(n);
  std::uint64_t scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60 * 1000;
  } else if (unit == "h") {
    scale = 60 * 60 * 1000;
  } else {
    return std::nullopt;
  }
  if (*number > kMaxMs / scale) return std::nullopt;  // also rules out overflow
  return std::chrono::milliseconds(static_cast<std::int64_t>(*number * scale));
}

// Binary units (KiB, MiB, ...) are powers of 1024; the decimal SI units (KB, MB, ...) are
// accepted as powers of 1000, as IEC 80000-13 defines them. A bare number is bytes.
std::optional<std::uint64_t> parse_size(std::string_view text) {
  const std::size_t n = leading_digits(text);
  const auto number = parse_digits(text.substr(0, n));
  if (!number) return std::nullopt;
  static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KiB", 1ull << 10},
      {"MiB", 1ull << 20},
      {"GiB", 1ull << 30},
      {"TiB", 1ull << 40},
      {"KB", 1000ull},
      {"MB", 1000ull * 1000},
      {"GB", 1000ull * 1000 * 1000},
      {"TB", 1000ull * 1000 * 1000 * 1000},
  };
  const auto unit = text.substr(n);
  for (const auto& [name, scale] : kUnits) {
    if (unit != name) continue;
    if (*number > std::numeric_limits<std::uint64_t>::max() / scale) return std::nullopt;
    return *number * scale;
  }
  return std::nullopt;
}

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    // [IPv6]:port, optionally with a zone: [fe80::1%eth0]:80
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.empty() || host.find(':') == std::string_view::npos) return std::nullopt;
    const auto zone = host.find('%');
    for (std::size_t i = 0; i < host.size(); ++i) {
      const char c = host[i];
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      const bool ok = i < zone ? (hex || c == ':' || c == '.')
                               : (i == zone || std::isalnum(static_cast<unsigned char>(c)) ||
                                  c == '-' || c == '_' || c == '.');
      if (!ok) return std::nullopt;
    }
    if (zone + 1 == host.size()) return std::nullopt;  // empty zone
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // A host name or IPv4 address; "*" is not special. IPv6 needs brackets.
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
        })) {
      return std::nullopt;
    }
  }
  if (port.size() > 5) return std::nullopt;
  const auto number = parse_digits(port);
  if (!number || *number > 65535) return std::nullopt;
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(*number)};
}

// ---- Config --------------------------------------------------------------------------------

Environment process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string_view Config::embedded_defaults() {
  return embedded::default_config();
}

Result<Config> Config::load(const std::string& file, const Environment& env) {
  return load(embedded_defaults(), file, env);
}

Result<Config> Config::load(std::string_view defaults_toml, const std::string& file,
                            const Environment& env) {
  Loader loader;
  const auto defaults = loader.parse_toml(defaults_toml, "defaults");
  if (!defaults) return loader.result_error();
  loader.add_defaults(*defaults, "");
  loader.index_defaults();
  if (loader.failed()) return loader.result_error();

  if (!file.empty()) {
    auto content = read_file(file);
    if (!content) return content.error();
    if (const auto table = loader.parse_toml(*content, file)) {
      loader.apply_file(*table, file);
    }
  }
  // The environment is checked even after file errors, so that one run reports them all.
  loader.apply_environment(env);
  if (loader.failed()) return loader.result_error();

  Config config;
  for (auto& [key, item] : loader.items) {
    config.entries_.emplace(key, Entry{std::move(item.value), std::move(item.source)});
  }
  return config;
}

const Config::Entry& Config::entry(std::string_view key) const {
  const auto it = entries_.find(key);
  if (it == entries_.end()) misuse(key, "is not defined in the defaults (config/stoa.toml)");
  return it->second;
}

const std::string& Config::string(std::string_view key) const {
  const auto* value = std::get_if<std::string>(&entry(key).value);
  if (value == nullptr) misuse(key, "is not a string");
  return *value;
}

std::int64_t Config::integer(std::string_view key) const {
  const auto* value = std::get_if<std::int64_t>(&entry(key).value);
  if (value == nullptr) misuse(key, "is not an integer");
  return *value;
}

std::int64_t Config::integer_in(std::string_view key, std::int64_t low, std::int64_t high) const {
  const auto value = integer(key);
  if (value < low || value > high) {
    throw std::invalid_argument(std::string(key) + " must be between " + std::to_string(low) +
                                " and " + std::to_string(high) + ", not " + std::to_string(value));
  }
  return value;
}

double Config::number(std::string_view key) const {
  const auto* value = std::get_if<double>(&entry(key).value);
  if (value == nullptr) misuse(key, "is not a float");
  return *value;
}

bool Config::boolean(std::string_view key) const {
  const auto* value = std::get_if<bool>(&entry(key).value);
  if (value == nullptr) misuse(key, "is not a boolean");
  return *value;
}

std::vector<std::string> Config::strings(std::string_view key) const {
  const auto* value = std::get_if<std::vector<std::string>>(&entry(key).value);
  if (value == nullptr) misuse(key, "is not an array of strings");
  return *value;
}

std::chrono::milliseconds Config::duration(std::string_view key) const {
  const auto& e = entry(key);
  if (kind_of(key) != Kind::duration)
    misuse(key, "is not a duration (*_timeout, *_interval, *_ttl, *_lag, *_delay, *_skew)");
  return *parse_duration(std::get<std::string>(e.value));  // validated at load
}

std::uint64_t Config::bytes(std::string_view key) const {
  const auto& e = entry(key);
  if (kind_of(key) != Kind::size) misuse(key, "is not a size (*_bytes)");
  // Stored as written (an integer or a string such as "16KiB"), validated at load.
  if (const auto* i = std::get_if<std::int64_t>(&e.value)) return static_cast<std::uint64_t>(*i);
  return *parse_size(std::get<std::string>(e.value));
}

ListenAddress Config::address(std::string_view key) const {
  const auto& e = entry(key);
  if (kind_of(key) != Kind::listen) misuse(key, "is not a listen address (listen, *_listen)");
  return *parse_listen_address(std::get<std::string>(e.value));  // validated at load
}

bool Config::has(std::string_view key) const {
  return entries_.find(key) != entries_.end();
}

const std::string& Config::source(std::string_view key) const {
  return entry(key).source;
}

std::vector<std::string> Config::keys() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [key, e] : entries_) out.push_back(key);
  return out;
}

// "http.header_timeout" -> "STOA_HTTP_HEADER_TIMEOUT"; '-' (legal in TOML keys, not in
// portable environment names) also becomes '_'.
std::string Config::env_name(std::string_view key) {
  std::string name = "STOA_";
  for (const char c : key) {
    if (c == '.' || c == '-') {
      name += '_';
    } else {
      name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return name;
}

}  // namespace stoa
