#include "observability/log.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "observability/json_text.h"
#include "runtime/config.h"
#include "runtime/time_format.h"

namespace stoa::obs {

std::string_view to_string(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

std::optional<Level> parse_level(std::string_view text) {
  if (text == "debug") return Level::debug;
  if (text == "info") return Level::info;
  if (text == "warn" || text == "warning") return Level::warn;
  if (text == "error") return Level::error;
  return std::nullopt;
}

namespace {

// Writes everything or returns false. For pipes, sockets and terminals it waits for
// writability in short polls so that `abandon` (set at shutdown) is noticed even when
// nobody reads the other end; such writes are at most PIPE_BUF bytes so that they do not
// block once poll says the fd is writable.
bool write_all(int fd, std::string_view data, const std::atomic<bool>& abandon) {
  struct stat info {};
  const bool regular = fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  while (!data.empty()) {
    std::size_t chunk = data.size();
    if (!regular) {
      pollfd p{fd, POLLOUT, 0};
      const int ready = ::poll(&p, 1, 100);
      if (ready < 0 && errno != EINTR) return false;
      if (ready <= 0) {
        if (abandon.load(std::memory_order_relaxed)) return false;
        continue;
      }
      if ((p.revents & (POLLERR | POLLNVAL)) != 0) return false;
      if (chunk > PIPE_BUF) chunk = PIPE_BUF;
    }
    const ssize_t n = ::write(fd, data.data(), chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (abandon.load(std::memory_order_relaxed)) return false;
        if (regular) {
          pollfd p{fd, POLLOUT, 0};
          ::poll(&p, 1, 100);
        }
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void append_value(std::string& out, const LogValue& value) {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          json_text::append_string(out, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.append(v ? "true" : "false");
        } else {
          json_text::append_number(out, v);
        }
      },
      value.get());
}

}  // namespace

// The writer waits up to kLinger after the first queued line, or until kBatchLines are queued.
constexpr auto kLinger = std::chrono::milliseconds(10);
constexpr std::size_t kBatchLines = 512;

struct Logger::Impl {
  mutable std::mutex mutex;
  std::condition_variable wake_writer;  // lines pending, or stopping
  std::condition_variable progress;     // a batch was written
  std::vector<std::string> pending;
  std::size_t in_flight = 0;   // lines taken by the writer, not yet written
  std::uint64_t accepted = 0;  // lines ever queued
  std::uint64_t finished = 0;  // queued lines written or dropped by the writer
  std::size_t max_queue_lines = 0;
  int fd = 2;
  bool close_fd = false;
  bool stopping = false;
  bool running = false;
  std::atomic<bool> abandon{false};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> written{0};
  std::thread writer;

  void run() {
    // A reader that went away must not kill the process: with SIGPIPE blocked in this
    // thread, write() fails with EPIPE instead (the lines are counted as dropped).
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);

    std::vector<std::string> batch;
    std::string buffer;
    std::unique_lock lock(mutex);
    while (true) {
      wake_writer.wait(lock, [&] { return !pending.empty() || stopping; });
      // Linger a moment so that a busy server's lines go out in batches: waking this thread
      // for every line would cost each request a context switch.
      wake_writer.wait_for(lock, kLinger,
                           [&] { return pending.size() >= kBatchLines || stopping; });
      if (pending.empty()) break;  // stopping and drained
      batch.swap(pending);
      in_flight = batch.size();
      const int target = fd;
      lock.unlock();

      buffer.clear();
      for (const auto& line : batch) buffer.append(line);
      const bool ok = write_all(target, buffer, abandon);

      lock.lock();
      (ok ? written : dropped).fetch_add(batch.size(), std::memory_order_relaxed);
      finished += batch.size();
      in_flight = 0;
      batch.clear();
      if (buffer.capacity() > (1u << 20)) buffer = std::string();  // do not hoard a burst
      progress.notify_all();
    }
  }

  void start() {
    running = true;
    stopping = false;
    abandon = false;
    writer = std::thread([this] { run(); });
  }

  void close_owned_fd() {
    if (close_fd && fd >= 0) ::close(fd);
    close_fd = false;
  }
};

Logger::Logger(LoggerOptions options)
    : level_(static_cast<int>(options.level)), impl_(std::make_unique<Impl>()) {
  impl_->max_queue_lines = options.max_queue_lines;
  impl_->fd = options.fd;
  impl_->close_fd = options.close_fd;
  impl_->start();
}

Logger::~Logger() {
  shutdown();
  impl_->close_owned_fd();
}

std::string Logger::format(std::chrono::system_clock::time_point time, Level level,
                           std::string_view component, std::string_view msg,
                           std::span<const LogField> fields, const TraceContext* trace) {
  std::string line;
  line.reserve(160 + msg.size() + fields.size() * 32);
  line.append("{\"ts\":\"");
  append_rfc3339_ms(line, time);
  line.append("\",\"level\":\"");
  line.append(to_string(level));
  line.append("\",\"component\":");
  json_text::append_string(line, component);
  line.append(",\"msg\":");
  json_text::append_string(line, msg);
  if (trace != nullptr && trace->trace_id.valid()) {
    line.append(",\"trace_id\":\"");
    line.append(trace->trace_id.hex());
    line.push_back('"');
    if (trace->span_id.valid()) {
      line.append(",\"span_id\":\"");
      line.append(trace->span_id.hex());
      line.push_back('"');
    }
  }
  for (const auto& field : fields) {
    line.push_back(',');
    json_text::append_string(line, field.key);
    line.push_back(':');
    append_value(line, field.value);
  }
  line.push_back('}');
  return line;
}

void Logger::log(Level level, std::string_view component, std::string_view msg,
                 std::initializer_list<LogField> fields, const TraceContext* trace) {
  log(level, component, msg, std::span<const LogField>(fields.begin(), fields.size()), trace);
}

void Logger::log(Level level, std::string_view component, std::string_view msg,
                 std::span<const LogField> fields, const TraceContext* trace) {
  if (!enabled(level)) return;
  std::string line = format(std::chrono::system_clock::now(), level, component, msg, fields, trace);
  line.push_back('\n');

  Impl& impl = *impl_;
  std::unique_lock lock(impl.mutex);
  if (!impl.running) {
    // After shutdown (at exit): write synchronously rather than lose the line.
    if (write_all(impl.fd, line, impl.abandon)) {
      impl.written.fetch_add(1, std::memory_order_relaxed);
    } else {
      impl.dropped.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  if (impl.stopping || impl.pending.size() + impl.in_flight >= impl.max_queue_lines) {
    impl.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  impl.pending.push_back(std::move(line));
  ++impl.accepted;
  const bool wake = impl.pending.size() == 1 || impl.pending.size() == kBatchLines;
  lock.unlock();
  if (wake) impl.wake_writer.notify_one();
}

bool Logger::flush(std::chrono::milliseconds timeout) {
  Impl& impl = *impl_;
  std::unique_lock lock(impl.mutex);
  if (!impl.running) return true;
  const std::uint64_t target = impl.accepted;
  return impl.progress.wait_for(lock, timeout, [&] { return impl.finished >= target; });
}

void Logger::shutdown(std::chrono::milliseconds timeout) {
  flush(timeout);
  Impl& impl = *impl_;
  {
    std::lock_guard lock(impl.mutex);
    if (!impl.running) return;
    impl.stopping = true;
    impl.abandon = true;  // whatever could not be written within `timeout` is dropped
  }
  impl.wake_writer.notify_one();
  impl.writer.join();
  std::lock_guard lock(impl.mutex);
  // Lines the writer did not get to (it stops once abandoned mid-batch).
  impl.dropped.fetch_add(impl.pending.size(), std::memory_order_relaxed);
  impl.finished += impl.pending.size();
  impl.pending.clear();
  impl.running = false;
  // `abandon` stays set: a synchronous write after shutdown waits at most one short poll.
  impl.progress.notify_all();
}

void Logger::reconfigure(LoggerOptions options) {
  flush();
  Impl& impl = *impl_;
  std::unique_lock lock(impl.mutex);
  // Lines queued since the flush go to the old fd; wait for the batch being written.
  impl.progress.wait_for(lock, std::chrono::seconds(5), [&] { return impl.in_flight == 0; });
  if (impl.in_flight == 0 && (options.fd != impl.fd || options.close_fd != impl.close_fd)) {
    if (options.fd != impl.fd) impl.close_owned_fd();
    impl.fd = options.fd;
    impl.close_fd = options.close_fd;
  }
  impl.max_queue_lines = options.max_queue_lines;
  set_level(options.level);
}

std::uint64_t Logger::dropped_lines() const {
  return impl_->dropped.load(std::memory_order_relaxed);
}

std::uint64_t Logger::written_lines() const {
  return impl_->written.load(std::memory_order_relaxed);
}

std::size_t Logger::queued_lines() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->pending.size() + impl_->in_flight;
}

Logger& logger() {
  // Deliberately immortal: code running during static destruction may still log.
  static Logger* const instance = [] {
    auto* created = new Logger();
    std::atexit([] { logger().shutdown(std::chrono::seconds(2)); });
    return created;
  }();
  return *instance;
}

void configure_logging(const Config& config) {
  LoggerOptions options;
  options.level = parse_level(config.string("log.level")).value_or(Level::info);
  const std::int64_t max_lines = config.integer("log.max_queue_lines");
  options.max_queue_lines = max_lines > 0 ? static_cast<std::size_t>(max_lines) : 1;
  configure_logging(options);
}

void configure_logging(LoggerOptions options) {
  logger().reconfigure(options);
}

}  // namespace stoa::obs
