// The JSON-lines logger: line format, escaping, level filter, bounded queue.
#include "observability/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "observability/json_text.h"
#include "observability/obs_test_support.h"
#include "runtime/config.h"

namespace stoa::obs {
namespace {

using namespace std::chrono_literals;
using test::parse_object;
using test::str;
using test::TempFile;

LoggerOptions to_file(const TempFile& file, Level level = Level::debug) {
  LoggerOptions options;
  options.level = level;
  options.fd = file.open_for_append();
  options.close_fd = true;
  return options;
}

// "2024-05-01T12:34:56.789Z" (std::regex is avoided: GCC 12 + ASan warn inside it).
bool looks_like_rfc3339_ms(const std::string& text) {
  const std::string pattern = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != pattern.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool ok = pattern[i] == 'd' ? std::isdigit(static_cast<unsigned char>(text[i])) != 0
                                      : text[i] == pattern[i];
    if (!ok) return false;
  }
  return true;
}

TraceContext some_trace() {
  TraceContext trace;
  trace.trace_id = *TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  trace.span_id = *SpanId::from_hex("00f067aa0ba902b7");
  return trace;
}

TEST(LogTest, LinesAreJsonWithEnvelopeTraceIdsAndFields) {
  TempFile file;
  {
    Logger logger(to_file(file));
    const TraceContext trace = some_trace();
    logger.log(Level::info, "gateway", "started",
               {{"port", 8000}, {"tls", false}, {"ratio", 0.25}, {"host", "127.0.0.1"}}, &trace);
    logger.log(Level::warn, "user", "no trace");
    ASSERT_TRUE(logger.flush());
  }
  const auto lines = file.lines();
  ASSERT_EQ(lines.size(), 2u);

  const auto first = parse_object(lines[0]);
  EXPECT_EQ(str(first.at("level")), "info");
  EXPECT_EQ(str(first.at("component")), "gateway");
  EXPECT_EQ(str(first.at("msg")), "started");
  EXPECT_EQ(str(first.at("trace_id")), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(str(first.at("span_id")), "00f067aa0ba902b7");
  EXPECT_EQ(first.at("port").as_int64(), 8000);
  EXPECT_EQ(first.at("tls").as_bool(), false);
  EXPECT_DOUBLE_EQ(first.at("ratio").as_double(), 0.25);
  EXPECT_EQ(str(first.at("host")), "127.0.0.1");
  EXPECT_TRUE(looks_like_rfc3339_ms(str(first.at("ts")))) << str(first.at("ts"));
  // The envelope comes first, in a fixed order.
  EXPECT_EQ(lines[0].rfind(R"({"ts":")", 0), 0u) << lines[0];
  EXPECT_LT(lines[0].find(R"("level")"), lines[0].find(R"("component")"));
  EXPECT_LT(lines[0].find(R"("msg")"), lines[0].find(R"("trace_id")"));

  const auto second = parse_object(lines[1]);
  EXPECT_EQ(str(second.at("level")), "warn");
  EXPECT_FALSE(second.contains("trace_id"));
  EXPECT_FALSE(second.contains("span_id"));
}

TEST(LogTest, EscapesQuotesControlCharactersAndInvalidUtf8) {
  const std::string nasty = std::string("say \"hi\"\\ \n\t\r\x01\x1f\x7f end ") +
                            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 " +  // valid UTF-8
                            "bad:\xFF \xC0\xAF \xED\xA0\x80 \xE2\x82";      // invalid UTF-8
  const std::string line = Logger::format(std::chrono::system_clock::now(), Level::error, "c\"x",
                                          nasty, std::vector<LogField>{{"k\n", nasty}}, nullptr);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "a line must stay one line";
  for (unsigned char c : line) EXPECT_GE(c, 0x20) << "raw control character in " << line;

  const auto object = parse_object(line);  // Boost.JSON rejects invalid UTF-8
  const std::string expected = std::string("say \"hi\"\\ \n\t\r\x01\x1f\x7f end ") +
                               "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 " +
                               "bad:\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD "
                               "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD";
  EXPECT_EQ(str(object.at("msg")), expected);
  EXPECT_EQ(str(object.at("component")), "c\"x");
  EXPECT_EQ(str(object.at("k\n")), expected);
}

TEST(LogTest, NonFiniteNumbersBecomeNull) {
  const std::string line =
      Logger::format(std::chrono::system_clock::now(), Level::info, "c", "m",
                     std::vector<LogField>{{"nan", std::numeric_limits<double>::quiet_NaN()},
                                           {"big", std::uint64_t{18446744073709551615u}},
                                           {"neg", -42}},
                     nullptr);
  const auto object = parse_object(line);
  EXPECT_TRUE(object.at("nan").is_null());
  EXPECT_EQ(object.at("big").as_uint64(), 18446744073709551615u);
  EXPECT_EQ(object.at("neg").as_int64(), -42);
}

TEST(LogTest, TimestampsAreUtcWithMilliseconds) {
  using namespace std::chrono;
  const system_clock::time_point t = sys_days{2024y / 2 / 29} + 23h + 59min + 58s + 7ms;
  EXPECT_EQ(json_text::rfc3339_ms(t), "2024-02-29T23:59:58.007Z");
  EXPECT_EQ(json_text::rfc3339_ms(t + 2s + 993ms), "2024-03-01T00:00:01.000Z");
  EXPECT_EQ(json_text::rfc3339_ms(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
}

TEST(LogTest, LevelFilterDropsLowerLevelsWithoutCountingThem) {
  TempFile file;
  Logger logger(to_file(file, Level::warn));
  EXPECT_FALSE(logger.enabled(Level::info));
  EXPECT_TRUE(logger.enabled(Level::error));
  logger.log(Level::debug, "c", "debug line");
  logger.log(Level::info, "c", "info line");
  logger.log(Level::warn, "c", "warn line");
  logger.log(Level::error, "c", "error line");
  logger.set_level(Level::debug);
  logger.log(Level::debug, "c", "debug after set_level");
  ASSERT_TRUE(logger.flush());

  const auto lines = file.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(str(parse_object(lines[0]).at("msg")), "warn line");
  EXPECT_EQ(str(parse_object(lines[1]).at("msg")), "error line");
  EXPECT_EQ(str(parse_object(lines[2]).at("msg")), "debug after set_level");
  EXPECT_EQ(logger.dropped_lines(), 0u);
  EXPECT_EQ(logger.written_lines(), 3u);
}

TEST(LogTest, ParsesLevelNames) {
  EXPECT_EQ(parse_level("debug"), Level::debug);
  EXPECT_EQ(parse_level("warn"), Level::warn);
  EXPECT_EQ(parse_level("warning"), Level::warn);
  EXPECT_EQ(parse_level("error"), Level::error);
  EXPECT_FALSE(parse_level("verbose").has_value());
  EXPECT_EQ(to_string(Level::info), "info");
}

TEST(LogTest, FullQueueDropsAndCountsLinesWithoutBlocking) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  // Fill the pipe first, so that the writer thread cannot write anything: a stuck reader.
  const int flags = ::fcntl(fds[1], F_GETFL);
  ASSERT_EQ(::fcntl(fds[1], F_SETFL, flags | O_NONBLOCK), 0);
  std::size_t prefilled = 0;
  const std::string filler(4096, '#');
  for (;;) {
    const ssize_t n = ::write(fds[1], filler.data(), filler.size());
    if (n <= 0) break;
    prefilled += static_cast<std::size_t>(n);
  }
  ASSERT_GT(prefilled, 0u);
  ASSERT_EQ(::fcntl(fds[1], F_SETFL, flags), 0);  // the logger gets a blocking fd

  const int kLines = 2000;
  const std::size_t kQueue = 8;
  LoggerOptions options;
  options.fd = fds[1];
  options.close_fd = true;
  options.max_queue_lines = kQueue;
  auto logger = std::make_unique<Logger>(options);
  for (int i = 0; i < kLines; ++i) logger->log(Level::info, "c", "line", {{"i", i}});

  // Every call returned; the queue holds its bound and the rest was dropped and counted.
  EXPECT_EQ(logger->written_lines(), 0u);
  EXPECT_EQ(logger->queued_lines(), kQueue);
  EXPECT_EQ(logger->dropped_lines(), kLines - kQueue);
  EXPECT_FALSE(logger->flush(50ms)) << "flush must give up when the fd does not take data";

  // Now drain the pipe: the queued lines arrive, whole, in order.
  std::string received;
  std::thread reader([&] {
    char buffer[65536];
    for (;;) {
      const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
      if (n <= 0) break;
      received.append(buffer, static_cast<std::size_t>(n));
    }
  });
  ASSERT_TRUE(logger->flush(10s));
  EXPECT_EQ(logger->written_lines(), kQueue);
  EXPECT_EQ(logger->dropped_lines() + logger->written_lines(), static_cast<std::uint64_t>(kLines));
  logger.reset();  // closes the write end: the reader sees EOF
  reader.join();
  ::close(fds[0]);

  ASSERT_GE(received.size(), prefilled);
  std::istringstream in(received.substr(prefilled));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), kQueue);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(parse_object(lines[i]).at("i").as_int64(), static_cast<std::int64_t>(i));
  }
}

TEST(LogTest, AReaderThatWentAwayCostsLinesNotTheProcess) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);  // nobody will ever read: write() raises SIGPIPE unless handled
  LoggerOptions options;
  options.fd = fds[1];
  options.close_fd = true;
  Logger logger(options);
  for (int i = 0; i < 10; ++i) logger.log(Level::error, "c", "into the void");
  ASSERT_TRUE(logger.flush());
  EXPECT_EQ(logger.dropped_lines(), 10u);
  EXPECT_EQ(logger.written_lines(), 0u);
}

TEST(LogTest, ShutdownDrainsAndLaterLinesAreWrittenSynchronously) {
  TempFile file;
  Logger logger(to_file(file));
  for (int i = 0; i < 100; ++i) logger.log(Level::info, "c", "before", {{"i", i}});
  logger.shutdown();
  EXPECT_EQ(file.lines().size(), 100u);
  logger.log(Level::info, "c", "after shutdown");
  const auto lines = file.lines();
  ASSERT_EQ(lines.size(), 101u);
  EXPECT_EQ(str(parse_object(lines.back()).at("msg")), "after shutdown");
  EXPECT_EQ(logger.dropped_lines(), 0u);
}

TEST(LogTest, ManyThreadsLogWholeLines) {
  TempFile file;
  Logger logger(to_file(file));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < 500; ++i) logger.log(Level::info, "c", "m", {{"t", t}, {"i", i}});
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(logger.flush());
  const auto lines = file.lines();
  ASSERT_EQ(lines.size(), 2000u);
  for (const auto& line : lines) EXPECT_TRUE(parse_object(line).contains("i"));
}

TEST(LogTest, ReconfigureSwitchesOutputAndQueueBound) {
  TempFile first;
  TempFile second;
  Logger logger(to_file(first));
  logger.log(Level::info, "c", "one");
  LoggerOptions options = to_file(second, Level::error);
  logger.reconfigure(options);
  logger.log(Level::warn, "c", "filtered");
  logger.log(Level::error, "c", "two");
  ASSERT_TRUE(logger.flush());
  ASSERT_EQ(first.lines().size(), 1u);
  ASSERT_EQ(second.lines().size(), 1u);
  EXPECT_EQ(str(parse_object(second.lines()[0]).at("msg")), "two");
}

TEST(LogTest, ProcessWideLoggerTakesLevelFromConfig) {
  auto config = Config::load("", [](std::string_view name) -> std::optional<std::string> {
    if (name == "STOA_LOG_LEVEL") return "error";
    return std::nullopt;
  });
  ASSERT_TRUE(config.ok()) << config.error().message;
  const Level before = logger().level();
  configure_logging(*config);
  EXPECT_EQ(logger().level(), Level::error);
  EXPECT_FALSE(logger().enabled(Level::warn));
  obs::log(Level::info, "test", "filtered out");  // must not appear on stderr
  logger().set_level(before);
}

}  // namespace
}  // namespace stoa::obs
