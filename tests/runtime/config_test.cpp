#include "runtime/config.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>

namespace stoa {
namespace {

using namespace std::chrono_literals;

// A small defaults file exercising every kind, independent of config/stoa.toml's evolution.
constexpr std::string_view kDefaults = R"(# test defaults
[server]
listen = "127.0.0.1:8000"
header_timeout = "10s"
poll_interval = "250ms"
max_body_bytes = "1MiB"
max_header_bytes = 16384
threads = 4
ratio = 0.5
enabled = true
name = "stoa"
tags = ["a", "b"]

[log]
level = "info"

[tracing.otlp]
endpoint = ""
admin_listen = "[::1]:9464"
)";

// A unique temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("stoa-config-test-" + std::to_string(random()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, std::string_view content) const {
    const auto file = path_ / name;
    std::ofstream out(file, std::ios::binary);
    out << content;
    return file.string();
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

Environment env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Environment no_env() {
  return env_of({});
}

class ConfigTest : public ::testing::Test {
 protected:
  Result<Config> load_file(std::string_view content, const Environment& env = no_env()) {
    path_ = dir_.write("stoa.toml", content);
    return Config::load(kDefaults, path_, env);
  }
  // The error message, failing the test when loading succeeded.
  std::string error_of(std::string_view content, const Environment& env = no_env()) {
    auto result = load_file(content, env);
    EXPECT_FALSE(result.ok()) << "loading should have failed:\n" << content;
    if (result.ok()) return "";
    EXPECT_EQ(result.error().code, Errc::invalid_argument);
    return result.error().message;
  }
  std::string env_error_of(std::map<std::string, std::string> vars) {
    auto result = Config::load(kDefaults, "", env_of(std::move(vars)));
    EXPECT_FALSE(result.ok());
    if (result.ok()) return "";
    EXPECT_EQ(result.error().code, Errc::invalid_argument);
    return result.error().message;
  }

  TempDir dir_;
  std::string path_;
};

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find [" << (needle) << "] in [" << (haystack) << "]"

// ---- parsers -----------------------------------------------------------------------------

TEST(ParseDuration, AcceptsIntegerWithUnit) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("0s"), 0ms);
  EXPECT_EQ(parse_duration("48h"), 48h);
  EXPECT_EQ(parse_duration("720h"), 720h);  // 30 days, the cap
}

TEST(ParseDuration, RejectsMalformed) {
  for (const char* text : {"",
                           "10",
                           "s",
                           "ms",
                           "-5s",
                           "+5s",
                           "1.5s",
                           "10 s",
                           " 10s",
                           "10s ",
                           "10sec",
                           "10S",
                           "1d",
                           "10ms5",
                           "1h30m",
                           "721h",
                           "2592000001ms",
                           "99999999999999999999ms",
                           "18446744073709551615h",
                           "0x10s"}) {
    EXPECT_FALSE(parse_duration(text).has_value()) << text;
  }
}

TEST(ParseSize, AcceptsBytesAndUnits) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("1024"), 1024u);
  EXPECT_EQ(parse_size("7B"), 7u);
  EXPECT_EQ(parse_size("16KiB"), 16u * 1024);
  EXPECT_EQ(parse_size("256MiB"), 256u * 1024 * 1024);
  EXPECT_EQ(parse_size("1GiB"), 1ull << 30);
  EXPECT_EQ(parse_size("2TiB"), 2ull << 40);
  EXPECT_EQ(parse_size("16KB"), 16000u);
  EXPECT_EQ(parse_size("3MB"), 3000000u);
  EXPECT_EQ(parse_size("1GB"), 1000000000u);
  EXPECT_EQ(parse_size("1TB"), 1000000000000u);
  EXPECT_EQ(parse_size("18446744073709551615"), 18446744073709551615ull);
  EXPECT_EQ(parse_size("16777215TiB"), 16777215ull << 40);
}

TEST(ParseSize, RejectsMalformedAndOverflow) {
  for (const char* text :
       {"", "-1", "+1", "1.5MiB", "16 KiB", "16kib", "16kb", "KiB", "16K", "16Ki", "16 ",
        "18446744073709551616", "16777216TiB", "17179869184GiB", "99999999999999999999999"}) {
    EXPECT_FALSE(parse_size(text).has_value()) << text;
  }
}

TEST(ParseListenAddress, AcceptsHostPort) {
  auto a = parse_listen_address("127.0.0.1:8000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8000);

  a = parse_listen_address("localhost:0");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "localhost");
  EXPECT_EQ(a->port, 0);

  a = parse_listen_address("0.0.0.0:65535");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, 65535);

  a = parse_listen_address("[::1]:9464");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");  // without brackets, ready for an address parser
  EXPECT_EQ(a->port, 9464);

  a = parse_listen_address("[fe80::1%eth0]:80");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "fe80::1%eth0");
}

TEST(ParseListenAddress, RejectsMalformed) {
  for (const char* text :
       {"",         "127.0.0.1", ":80",      "host:",         "host:65536",
        "host:-1",  "host:+80",  "host:80x", "host:000080",   "::1:80",
        "[::1]80",  "[]:80",     "[::1]",    "[::1]:",        "[localhost]:80",
        "ho st:80", "host :80",  "[::1:80",  "[fe80::1%]:80", "host:99999999999999999999"}) {
    EXPECT_FALSE(parse_listen_address(text).has_value()) << text;
  }
}

TEST(ConfigEnvName, UppercasesAndReplacesDots) {
  EXPECT_EQ(Config::env_name("http.header_timeout"), "STOA_HTTP_HEADER_TIMEOUT");
  EXPECT_EQ(Config::env_name("tracing.otlp.endpoint"), "STOA_TRACING_OTLP_ENDPOINT");
  EXPECT_EQ(Config::env_name("log.level"), "STOA_LOG_LEVEL");
}

// ---- the embedded defaults ---------------------------------------------------------------

TEST(ConfigEmbedded, DefaultsLoadCleanlyAndEveryKeyReadsAsItsKind) {
  auto config = Config::load("", no_env());
  ASSERT_TRUE(config.ok()) << config.error().message;
  const auto keys = config->keys();
  ASSERT_FALSE(keys.empty());
  for (const auto& key : keys) {
    EXPECT_EQ(config->source(key), "default") << key;
    const std::string name = key.substr(key.rfind('.') + 1);
    if (name.ends_with("_timeout") || name.ends_with("_interval")) {
      EXPECT_NO_THROW(config->duration(key)) << key;
    } else if (name.ends_with("_bytes")) {
      EXPECT_NO_THROW(config->bytes(key)) << key;
    } else if (name == "listen" || name.ends_with("_listen")) {
      EXPECT_NO_THROW(config->address(key)) << key;
    }
  }
  EXPECT_EQ(config->address("admin.listen").port, 9464);
  EXPECT_EQ(config->address("gateway.listen").port, 8000);
  EXPECT_GT(config->duration("http.header_timeout"), 0ms);
  EXPECT_GT(config->bytes("http.max_body_bytes"), 0u);
  const auto& level = config->string("log.level");
  EXPECT_TRUE(level == "debug" || level == "info" || level == "warn" || level == "error");
}

TEST(ConfigEmbedded, EnvironmentOverridesRealKey) {
  auto config = Config::load("", env_of({{"STOA_HTTP_HEADER_TIMEOUT", "5s"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->duration("http.header_timeout"), 5s);
  EXPECT_EQ(config->source("http.header_timeout"), "env STOA_HTTP_HEADER_TIMEOUT");
}

TEST(ConfigEmbedded, ProcessEnvironmentReadsRealVariables) {
  const auto env = process_environment();
  ::setenv("STOA_TEST_CONFIG_PROBE", "probe value", 1);
  EXPECT_EQ(env("STOA_TEST_CONFIG_PROBE"), std::optional<std::string>("probe value"));
  ::unsetenv("STOA_TEST_CONFIG_PROBE");
  EXPECT_EQ(env("STOA_TEST_CONFIG_PROBE"), std::nullopt);
}

// ---- defaults, typed access --------------------------------------------------------------

TEST_F(ConfigTest, DefaultsGiveTypedValues) {
  auto config = Config::load(kDefaults, "", no_env());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->address("server.listen").host, "127.0.0.1");
  EXPECT_EQ(config->address("server.listen").port, 8000);
  EXPECT_EQ(config->duration("server.header_timeout"), 10s);
  EXPECT_EQ(config->duration("server.poll_interval"), 250ms);
  EXPECT_EQ(config->bytes("server.max_body_bytes"), 1024u * 1024);
  EXPECT_EQ(config->bytes("server.max_header_bytes"), 16384u);
  EXPECT_EQ(config->integer("server.threads"), 4);
  EXPECT_DOUBLE_EQ(config->number("server.ratio"), 0.5);
  EXPECT_TRUE(config->boolean("server.enabled"));
  EXPECT_EQ(config->string("server.name"), "stoa");
  EXPECT_EQ(config->strings("server.tags"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(config->string("log.level"), "info");
  EXPECT_EQ(config->string("tracing.otlp.endpoint"), "");
  EXPECT_EQ(config->address("tracing.otlp.admin_listen").host, "::1");
  EXPECT_TRUE(config->has("tracing.otlp.endpoint"));
  EXPECT_FALSE(config->has("tracing.otlp"));
  EXPECT_FALSE(config->has("server.colour"));
  EXPECT_EQ(config->source("server.threads"), "default");
  const auto keys = config->keys();
  EXPECT_EQ(keys.size(), 13u);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
}

TEST_F(ConfigTest, GetterMisuseIsALogicError) {
  auto config = Config::load(kDefaults, "", no_env());
  ASSERT_TRUE(config.ok());
  EXPECT_THROW(config->string("server.colour"), std::logic_error);
  EXPECT_THROW(config->source("server.colour"), std::logic_error);
  EXPECT_THROW(config->integer("server.name"), std::logic_error);
  EXPECT_THROW(config->string("server.threads"), std::logic_error);
  EXPECT_THROW(config->number("server.threads"), std::logic_error);
  EXPECT_THROW(config->boolean("server.name"), std::logic_error);
  EXPECT_THROW(config->strings("server.name"), std::logic_error);
  EXPECT_THROW(config->duration("server.name"), std::logic_error);
  EXPECT_THROW(config->bytes("server.threads"), std::logic_error);
  EXPECT_THROW(config->address("server.name"), std::logic_error);
}

TEST_F(ConfigTest, InvalidDefaultsAreRejected) {
  auto bad_kind = Config::load("[a]\nfoo_timeout = 5\n", "", no_env());
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_CONTAINS(bad_kind.error().message, "a.foo_timeout");
  EXPECT_CONTAINS(bad_kind.error().message, "defaults");

  auto bad_level = Config::load("[log]\nlevel = \"loud\"\n", "", no_env());
  ASSERT_FALSE(bad_level.ok());
  EXPECT_CONTAINS(bad_level.error().message, "log.level");

  auto syntax = Config::load("[a\n", "", no_env());
  ASSERT_FALSE(syntax.ok());
  EXPECT_CONTAINS(syntax.error().message, "defaults:1");
}

// ---- the user file -----------------------------------------------------------------------

TEST_F(ConfigTest, FileOverridesDefaultsAndSourceNamesTheFile) {
  auto config = load_file(R"(
[server]
listen = "[::]:9000"
header_timeout = "2m"
max_body_bytes = 2048
max_header_bytes = "32KiB"
threads = 8
ratio = 1          # an integer is fine for a float
enabled = false
tags = []

[log]
level = "debug"

[tracing.otlp]
endpoint = "http://127.0.0.1:4318/v1/traces"
)");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->address("server.listen").host, "::");
  EXPECT_EQ(config->address("server.listen").port, 9000);
  EXPECT_EQ(config->duration("server.header_timeout"), 2min);
  EXPECT_EQ(config->bytes("server.max_body_bytes"), 2048u);
  EXPECT_EQ(config->bytes("server.max_header_bytes"), 32u * 1024);
  EXPECT_EQ(config->integer("server.threads"), 8);
  EXPECT_DOUBLE_EQ(config->number("server.ratio"), 1.0);
  EXPECT_FALSE(config->boolean("server.enabled"));
  EXPECT_TRUE(config->strings("server.tags").empty());
  EXPECT_EQ(config->string("log.level"), "debug");
  EXPECT_EQ(config->string("tracing.otlp.endpoint"), "http://127.0.0.1:4318/v1/traces");
  EXPECT_EQ(config->source("server.threads"), path_);
  EXPECT_EQ(config->source("tracing.otlp.endpoint"), path_);
  EXPECT_EQ(config->source("server.poll_interval"), "default");
  EXPECT_EQ(config->source("server.name"), "default");
}

TEST_F(ConfigTest, DottedKeysAndInlineTablesFlattenLikeSections) {
  auto config = load_file("server.threads = 2\ntracing = { otlp = { endpoint = \"x\" } }\n");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->integer("server.threads"), 2);
  EXPECT_EQ(config->string("tracing.otlp.endpoint"), "x");
}

TEST_F(ConfigTest, UnknownKeyNamesKeyFileAndLine) {
  const auto message = error_of("[server]\nthreads = 2\ncolour = \"blue\"\n");
  EXPECT_CONTAINS(message, "server.colour");
  EXPECT_CONTAINS(message, path_ + ":3");
  EXPECT_CONTAINS(message, "unknown key");
}

TEST_F(ConfigTest, TypoInSectionNamesTheKeyAndSuggestsTheRightOne) {
  const auto message = error_of("[sever]\nthreads = 2\n");
  EXPECT_CONTAINS(message, "sever.threads");
  EXPECT_CONTAINS(message, path_ + ":2");
  EXPECT_CONTAINS(message, "did you mean server.threads?");
}

TEST_F(ConfigTest, RightKeyInWrongSectionSuggestsWhereItLives) {
  const auto message = error_of("[server]\nlevel = \"debug\"\n");
  EXPECT_CONTAINS(message, "server.level");
  EXPECT_CONTAINS(message, "did you mean log.level?");
}

TEST_F(ConfigTest, EmptyUnknownSectionIsReported) {
  const auto message = error_of("[servre]\n");
  EXPECT_CONTAINS(message, "[servre]");
  EXPECT_CONTAINS(message, path_ + ":1");
}

TEST_F(ConfigTest, ValueForASectionIsReported) {
  const auto message = error_of("log = \"debug\"\n");
  EXPECT_CONTAINS(message, "log is a section");
}

TEST_F(ConfigTest, WrongTypeNamesKeyExpectedKindAndFile) {
  const auto message = error_of("[server]\nthreads = \"four\"\n");
  EXPECT_CONTAINS(message, "server.threads");
  EXPECT_CONTAINS(message, "expected an integer");
  EXPECT_CONTAINS(message, "got a string");
  EXPECT_CONTAINS(message, path_ + ":2");

  EXPECT_CONTAINS(error_of("[server]\nenabled = \"yes\"\n"), "expected a boolean");
  EXPECT_CONTAINS(error_of("[server]\nratio = \"half\"\n"), "expected a float");
  EXPECT_CONTAINS(error_of("[server]\nname = 5\n"), "expected a string");
  EXPECT_CONTAINS(error_of("[server]\ntags = [1, 2]\n"), "expected an array of strings");
  EXPECT_CONTAINS(error_of("[server]\ntags = \"a\"\n"), "expected an array of strings");
  EXPECT_CONTAINS(error_of("[server]\nthreads = 2.5\n"), "server.threads");
  EXPECT_CONTAINS(error_of("[server.threads]\nx = 1\n"), "server.threads");
}

TEST_F(ConfigTest, BadDurationIsReported) {
  auto message = error_of("[server]\nheader_timeout = \"10 parsecs\"\n");
  EXPECT_CONTAINS(message, "server.header_timeout");
  EXPECT_CONTAINS(message, "duration");
  EXPECT_CONTAINS(message, "\"10 parsecs\"");
  EXPECT_CONTAINS(message, path_ + ":2");

  message = error_of("[server]\nheader_timeout = 10\n");  // unit missing
  EXPECT_CONTAINS(message, "server.header_timeout");
  EXPECT_CONTAINS(message, "duration");

  EXPECT_CONTAINS(error_of("[server]\npoll_interval = \"-1s\"\n"), "server.poll_interval");
  EXPECT_CONTAINS(error_of("[server]\npoll_interval = \"\"\n"), "server.poll_interval");
}

TEST_F(ConfigTest, BadSizeIsReported) {
  auto message = error_of("[server]\nmax_body_bytes = \"1 potato\"\n");
  EXPECT_CONTAINS(message, "server.max_body_bytes");
  EXPECT_CONTAINS(message, "size");
  EXPECT_CONTAINS(message, path_ + ":2");
  EXPECT_CONTAINS(error_of("[server]\nmax_body_bytes = -1\n"), "server.max_body_bytes");
  EXPECT_CONTAINS(error_of("[server]\nmax_header_bytes = \"99999999999TiB\"\n"),
                  "server.max_header_bytes");
  EXPECT_CONTAINS(error_of("[server]\nmax_header_bytes = 1.5\n"), "server.max_header_bytes");
}

TEST_F(ConfigTest, BadListenIsReported) {
  auto message = error_of("[server]\nlisten = \"127.0.0.1:http\"\n");
  EXPECT_CONTAINS(message, "server.listen");
  EXPECT_CONTAINS(message, "host:port");
  EXPECT_CONTAINS(error_of("[server]\nlisten = \"127.0.0.1:70000\"\n"), "server.listen");
  EXPECT_CONTAINS(error_of("[server]\nlisten = \":8000\"\n"), "server.listen");
  EXPECT_CONTAINS(error_of("[server]\nlisten = 8000\n"), "server.listen");
  EXPECT_CONTAINS(error_of("[tracing.otlp]\nadmin_listen = \"::1:80\"\n"),
                  "tracing.otlp.admin_listen");
}

TEST_F(ConfigTest, BadLevelIsReported) {
  const auto message = error_of("[log]\nlevel = \"verbose\"\n");
  EXPECT_CONTAINS(message, "log.level");
  EXPECT_CONTAINS(message, "debug, info, warn, error");
  EXPECT_CONTAINS(message, "\"verbose\"");
  EXPECT_CONTAINS(error_of("[log]\nlevel = \"INFO\"\n"), "log.level");
}

TEST_F(ConfigTest, AllErrorsAreReportedTogether) {
  const auto message = error_of("[server]\nthreads = \"x\"\nlisten = \"nope\"\nbogus = 1\n",
                                env_of({{"STOA_LOG_LEVEL", "chatty"}}));
  EXPECT_CONTAINS(message, "server.threads");
  EXPECT_CONTAINS(message, "server.listen");
  EXPECT_CONTAINS(message, "server.bogus");
  EXPECT_CONTAINS(message, "STOA_LOG_LEVEL");
  EXPECT_CONTAINS(message, "; ");
  // In the order of the file's lines, then the environment.
  EXPECT_LT(message.find("server.threads"), message.find("server.listen"));
  EXPECT_LT(message.find("server.listen"), message.find("server.bogus"));
  EXPECT_LT(message.find("server.bogus"), message.find("STOA_LOG_LEVEL"));
}

TEST_F(ConfigTest, MissingFileNamesThePath) {
  const auto missing = dir_.path("does-not-exist.toml");
  auto result = Config::load(kDefaults, missing, no_env());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, Errc::invalid_argument);
  EXPECT_CONTAINS(result.error().message, missing);
}

TEST_F(ConfigTest, UnreadableFileNamesThePath) {
  const auto directory = dir_.path("");  // a directory opens but cannot be read
  auto result = Config::load(kDefaults, directory, no_env());
  ASSERT_FALSE(result.ok());
  EXPECT_CONTAINS(result.error().message, directory);
}

TEST_F(ConfigTest, SyntaxErrorNamesPathAndLine) {
  const auto message = error_of("[server]\nthreads = 2\nname = \"unterminated\n");
  EXPECT_CONTAINS(message, path_ + ":3");
  EXPECT_CONTAINS(message, "TOML syntax error");

  EXPECT_CONTAINS(error_of("[server]\nthreads = 1\nthreads = 2\n"), path_ + ":3");
}

// ---- the environment ---------------------------------------------------------------------

TEST_F(ConfigTest, EnvironmentBeatsFileAndDefaults) {
  auto config =
      load_file("[server]\nthreads = 8\nheader_timeout = \"1m\"\n",
                env_of({{"STOA_SERVER_THREADS", "16"}, {"STOA_SERVER_POLL_INTERVAL", "1s"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->integer("server.threads"), 16);
  EXPECT_EQ(config->source("server.threads"), "env STOA_SERVER_THREADS");
  EXPECT_EQ(config->duration("server.header_timeout"), 1min);
  EXPECT_EQ(config->source("server.header_timeout"), path_);
  EXPECT_EQ(config->duration("server.poll_interval"), 1s);
  EXPECT_EQ(config->source("server.poll_interval"), "env STOA_SERVER_POLL_INTERVAL");
}

TEST_F(ConfigTest, EnvironmentValuesParseAsTheDefaultsType) {
  auto config = Config::load(kDefaults, "",
                             env_of({{"STOA_SERVER_THREADS", "-3"},
                                     {"STOA_SERVER_RATIO", "0.25"},
                                     {"STOA_SERVER_ENABLED", "0"},
                                     {"STOA_SERVER_NAME", "my shop, v2"},
                                     {"STOA_SERVER_TAGS", "x, y ,z"},
                                     {"STOA_SERVER_MAX_BODY_BYTES", "4096"},
                                     {"STOA_SERVER_MAX_HEADER_BYTES", "2MiB"},
                                     {"STOA_SERVER_LISTEN", "[::1]:0"},
                                     {"STOA_LOG_LEVEL", "warn"},
                                     {"STOA_TRACING_OTLP_ENDPOINT", "http://collector"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->integer("server.threads"), -3);
  EXPECT_DOUBLE_EQ(config->number("server.ratio"), 0.25);
  EXPECT_FALSE(config->boolean("server.enabled"));
  EXPECT_EQ(config->string("server.name"), "my shop, v2");
  EXPECT_EQ(config->strings("server.tags"), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(config->bytes("server.max_body_bytes"), 4096u);
  EXPECT_EQ(config->bytes("server.max_header_bytes"), 2u * 1024 * 1024);
  EXPECT_EQ(config->address("server.listen").host, "::1");
  EXPECT_EQ(config->string("log.level"), "warn");
  EXPECT_EQ(config->string("tracing.otlp.endpoint"), "http://collector");
  EXPECT_EQ(config->source("tracing.otlp.endpoint"), "env STOA_TRACING_OTLP_ENDPOINT");
}

TEST_F(ConfigTest, EnvironmentBooleansAndEmptyList) {
  for (const auto& [text, expected] :
       std::map<std::string, bool>{{"true", true}, {"1", true}, {"false", false}, {"0", false}}) {
    auto config = Config::load(kDefaults, "",
                               env_of({{"STOA_SERVER_ENABLED", text}, {"STOA_SERVER_TAGS", ""}}));
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_EQ(config->boolean("server.enabled"), expected) << text;
    EXPECT_TRUE(config->strings("server.tags").empty());
  }
}

TEST_F(ConfigTest, BadEnvironmentValueNamesTheVariable) {
  auto message = env_error_of({{"STOA_SERVER_THREADS", "many"}});
  EXPECT_CONTAINS(message, "env STOA_SERVER_THREADS");
  EXPECT_CONTAINS(message, "server.threads");
  EXPECT_CONTAINS(message, "integer");

  EXPECT_CONTAINS(env_error_of({{"STOA_SERVER_THREADS", ""}}), "STOA_SERVER_THREADS");
  EXPECT_CONTAINS(env_error_of({{"STOA_SERVER_THREADS", "99999999999999999999"}}),
                  "STOA_SERVER_THREADS");
  EXPECT_CONTAINS(env_error_of({{"STOA_SERVER_HEADER_TIMEOUT", "10"}}),
                  "STOA_SERVER_HEADER_TIMEOUT");
  EXPECT_CONTAINS(env_error_of({{"STOA_SERVER_ENABLED", "yes"}}), "STOA_SERVER_ENABLED");
  EXPECT_CONTAINS(env_error_of({{"STOA_SERVER_RATIO", "nan"}}), "STOA_SERVER_RATIO");
  EXPECT_CONTAINS(env_error_of({{"STOA_SERVER_RATIO", "0.5x"}}), "STOA_SERVER_RATIO");
  EXPECT_CONTAINS(env_error_of({{"STOA_SERVER_MAX_BODY_BYTES", "lots"}}),
                  "STOA_SERVER_MAX_BODY_BYTES");
  EXPECT_CONTAINS(env_error_of({{"STOA_SERVER_LISTEN", "localhost"}}), "STOA_SERVER_LISTEN");
  EXPECT_CONTAINS(env_error_of({{"STOA_LOG_LEVEL", "trace"}}), "STOA_LOG_LEVEL");
  EXPECT_CONTAINS(env_error_of({{"STOA_SERVER_TAGS", "a,,b"}}), "STOA_SERVER_TAGS");
}

TEST_F(ConfigTest, UnknownStoaVariablesAreIgnored) {
  auto config = Config::load(kDefaults, "",
                             env_of({{"STOA_TEST_PG_URL", "postgresql://x"},
                                     {"STOA_SERVER_COLOUR", "blue"},
                                     {"STOA_SERVER_THREADS", "2"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->integer("server.threads"), 2);
}

TEST_F(ConfigTest, NullEnvironmentMeansNoOverrides) {
  auto config = Config::load(kDefaults, "", Environment{});
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->source("server.threads"), "default");
}

}  // namespace
}  // namespace stoa
