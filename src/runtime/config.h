#pragma once
// stoa.toml: the embedded defaults (config/stoa.toml) define every key and its type; a user
// file and then STOA_* environment variables override key by key. Loading validates
// everything at once, so a typo or a bad value stops start-up with a message naming the key.
//
// Value kinds follow the key's name, so a new key needs no schema code:
//   *_timeout, *_interval,
//   *_ttl, *_lag, *_delay,
//   *_skew                    duration string: "250ms", "10s", "5m", "1h"
//   *_bytes                   size: an integer or "16KiB", "256MiB", "1GiB"
//   listen, *_listen          "host:port"
//   level                     one of debug, info, warn, error
//   everything else           the type of its default (string, integer, float, bool, array of
//   strings)
// Environment: key "http.header_timeout" is read from STOA_HTTP_HEADER_TIMEOUT.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "runtime/error.h"

namespace stoa {

using Environment = std::function<std::optional<std::string>(std::string_view name)>;
Environment process_environment();

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

class Config {
 public:
  using Value = std::variant<std::string, std::int64_t, double, bool, std::vector<std::string>>;

  // Defaults, then `file` when not empty, then the environment.
  static Result<Config> load(std::string_view defaults_toml, const std::string& file,
                             const Environment& env);
  // The embedded defaults (config/stoa.toml).
  static Result<Config> load(const std::string& file, const Environment& env);
  static std::string_view embedded_defaults();

  // Typed access. Asking for a key that the defaults do not define, or with the wrong kind,
  // is a programming error: std::logic_error.
  const std::string& string(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  // integer(key), or std::invalid_argument naming the key when it is outside [low, high].
  std::int64_t integer_in(std::string_view key, std::int64_t low, std::int64_t high) const;
  double number(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::vector<std::string> strings(std::string_view key) const;
  std::chrono::milliseconds duration(std::string_view key) const;
  std::uint64_t bytes(std::string_view key) const;
  ListenAddress address(std::string_view key) const;

  // The raw value, whatever its kind (for printing the effective configuration).
  const Value& value(std::string_view key) const { return entry(key).value; }
  bool has(std::string_view key) const;
  // Where the value came from: "default", the file's path, or the environment variable.
  const std::string& source(std::string_view key) const;
  std::vector<std::string> keys() const;

  static std::string env_name(std::string_view key);

 private:
  struct Entry {
    Value value;
    std::string source;
  };
  const Entry& entry(std::string_view key) const;
  std::map<std::string, Entry, std::less<>> entries_;
};

// Parsers shared by config validation and callers.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::optional<std::uint64_t> parse_size(std::string_view text);
std::optional<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace stoa
