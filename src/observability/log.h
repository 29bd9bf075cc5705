#pragma once
// Structured logs: one JSON object per line,
//   {"ts":"2024-05-01T12:34:56.789Z","level":"info","component":"gateway","msg":"started",
//    "trace_id":"…","span_id":"…","port":8000}
// The line is formatted on the caller's thread; one background thread per Logger writes
// queued lines in batches to a file descriptor. Logging never blocks on I/O: the queue is
// bounded (log.max_queue_lines) and lines beyond it are dropped and counted.
//
//   obs::log(obs::Level::info, "gateway", "started", {{"port", 8000}, {"tls", false}});
//   obs::log(obs::Level::warn, "gateway", "upstream slow", {{"upstream", name}}, &req.trace);
//
// Field keys come from code; values may be anything (they are escaped, and invalid UTF-8 is
// replaced). The keys ts, level, component, msg, trace_id and span_id are the envelope's:
// do not use them as field keys. Never log secrets (tokens, passwords, query strings).
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "runtime/trace_context.h"

namespace stoa {
class Config;
}

namespace stoa::obs {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

std::string_view to_string(Level level);
// "debug", "info", "warn" (or "warning"), "error"; nullopt otherwise.
std::optional<Level> parse_level(std::string_view text);

// A field value. Strings are viewed, not copied: the line is formatted before log() returns.
// So a named array of fields (for the span overload) must not view temporaries:
//   const LogField fields[] = {{"path", request.path}};       // fine
//   const LogField fields[] = {{"n", std::to_string(n)}};     // dangles: use {"n", n}
class LogValue {
 public:
  using Variant = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;

  LogValue(std::string_view value) : value_(value) {}               // NOLINT: implicit by design
  LogValue(const char* value) : value_(std::string_view(value)) {}  // NOLINT
  LogValue(const std::string& value) : value_(std::string_view(value)) {}  // NOLINT
  LogValue(bool value) : value_(value) {}                                  // NOLINT
  LogValue(double value) : value_(value) {}                                // NOLINT
  LogValue(float value) : value_(static_cast<double>(value)) {}            // NOLINT
  template <std::signed_integral T>
  LogValue(T value) : value_(static_cast<std::int64_t>(value)) {}  // NOLINT
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) LogValue(T value)
      : value_(static_cast<std::uint64_t>(value)) {}  // NOLINT

  const Variant& get() const { return value_; }

 private:
  Variant value_;
};

struct LogField {
  std::string_view key;
  LogValue value;
};

struct LoggerOptions {
  Level level = Level::info;
  std::size_t max_queue_lines = 65536;
  int fd = 2;             // where the writer thread writes (default stderr)
  bool close_fd = false;  // close `fd` when the logger is destroyed
};

class Logger {
 public:
  explicit Logger(LoggerOptions options = {});
  // Drains the queue (bounded by a few seconds) and stops the writer thread.
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool enabled(Level level) const {
    return static_cast<int>(level) >= level_.load(std::memory_order_relaxed);
  }
  Level level() const { return static_cast<Level>(level_.load(std::memory_order_relaxed)); }
  void set_level(Level level) { level_.store(static_cast<int>(level), std::memory_order_relaxed); }

  // Formats one line and queues it. `trace` adds trace_id and span_id when it is valid.
  void log(Level level, std::string_view component, std::string_view msg,
           std::initializer_list<LogField> fields = {}, const TraceContext* trace = nullptr);
  void log(Level level, std::string_view component, std::string_view msg,
           std::span<const LogField> fields, const TraceContext* trace = nullptr);

  // Formats a line without queueing it (what log() would write, without the newline).
  static std::string format(std::chrono::system_clock::time_point time, Level level,
                            std::string_view component, std::string_view msg,
                            std::span<const LogField> fields, const TraceContext* trace);

  // Waits until every line queued before the call has been written (or dropped). Returns
  // false when `timeout` passed first (for example when the fd does not take data).
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Flushes (bounded by `timeout`) and stops the writer thread. Lines logged afterwards are
  // written synchronously by the caller, so late messages at exit are not lost. Idempotent.
  void shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Switches fd, level and queue bound. Lines queued so far are flushed to the old fd first.
  void reconfigure(LoggerOptions options);

  // Lines dropped because the queue was full or the fd refused them.
  std::uint64_t dropped_lines() const;
  std::uint64_t written_lines() const;
  // Lines waiting (including the batch being written).
  std::size_t queued_lines() const;

 private:
  struct Impl;
  std::atomic<int> level_;
  std::unique_ptr<Impl> impl_;
};

// The process-wide logger. Before configure_logging it writes info and above to stderr.
// It lives until the process exits; its queue is flushed at exit (std::atexit).
Logger& logger();
// Applies [log] (level, max_queue_lines) to the process-wide logger; output stays stderr.
void configure_logging(const Config& config);
void configure_logging(LoggerOptions options);

inline void log(Level level, std::string_view component, std::string_view msg,
                std::initializer_list<LogField> fields = {}, const TraceContext* trace = nullptr) {
  Logger& target = logger();
  if (target.enabled(level)) target.log(level, component, msg, fields, trace);
}
inline void log(Level level, std::string_view component, std::string_view msg,
                std::span<const LogField> fields, const TraceContext* trace = nullptr) {
  Logger& target = logger();
  if (target.enabled(level)) target.log(level, component, msg, fields, trace);
}

}  // namespace stoa::obs
