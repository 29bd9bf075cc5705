// Backend URLs: every scheme Stoa's settings take, in both forms, IPv6 hosts, percent-encoded
// parts, host lists, bad URLs, and redaction of passwords.
#include "runtime/backend_url.h"

#include <gtest/gtest.h>

namespace stoa {
namespace {

BackendUrl parsed(std::string_view url, UrlForm form = UrlForm::authority) {
  auto out = parse_backend_url(url, form);
  EXPECT_TRUE(out) << url << ": " << out.error().message;
  return out ? *out : BackendUrl{};
}

TEST(BackendUrl, PostgresqlWithCredentialsPortDatabaseAndParameters) {
  const auto url = parsed("postgresql://stoa:s%40cr%3At@db.internal:5433/shop?sslmode=require");
  EXPECT_EQ(url.scheme, "postgresql");
  EXPECT_TRUE(url.has_userinfo);
  EXPECT_TRUE(url.has_password);
  EXPECT_EQ(url.user, "stoa");
  EXPECT_EQ(url.password, "s@cr:t");
  ASSERT_EQ(url.hosts.size(), 1u);
  EXPECT_EQ(url.host().host, "db.internal");
  EXPECT_EQ(url.host().port, 5433);
  EXPECT_EQ(url.path, "/shop");
  EXPECT_EQ(url.param("sslmode"), "require");
  EXPECT_EQ(url.param("absent"), std::nullopt);
}

TEST(BackendUrl, RedisAndAmqp) {
  auto url = parsed("redis://:pw@[::1]:6380/2");
  EXPECT_TRUE(url.has_password);
  EXPECT_EQ(url.user, "");
  EXPECT_EQ(url.host().host, "::1");
  EXPECT_TRUE(url.host().ipv6);
  EXPECT_EQ(url.host().port, 6380);
  EXPECT_EQ(url.path, "/2");

  url = parsed("amqp://guest@mq/prod%2Fevents?namespace=shop");
  EXPECT_TRUE(url.has_userinfo);
  EXPECT_FALSE(url.has_password);
  EXPECT_EQ(url.host().port, std::nullopt);
  EXPECT_EQ(url.path, "/prod/events");
  EXPECT_EQ(url.param("namespace"), "shop");
}

TEST(BackendUrl, AListOfHosts) {
  const auto url = parsed("kafka://k1:9092,[::1]:9093,k3:9094?acks=all&sasl.password=a%2Bb+c");
  ASSERT_EQ(url.hosts.size(), 3u);
  EXPECT_EQ(url.hosts[0].host, "k1");
  EXPECT_EQ(url.hosts[1].host, "::1");
  EXPECT_TRUE(url.hosts[1].ipv6);
  EXPECT_EQ(url.hosts[1].port, 9093);
  EXPECT_EQ(url.hosts[2].port, 9094);
  ASSERT_EQ(url.query.size(), 2u);
  EXPECT_EQ(url.query[0].name, "acks");
  EXPECT_EQ(url.query[1].value, "a+b+c") << "'+' is not a space here";
  // libpq's multi-host form, with credentials before the list.
  const auto pg = parsed("postgresql://u:p,w@h1:5432,h2/db");
  EXPECT_EQ(pg.password, "p,w");
  ASSERT_EQ(pg.hosts.size(), 2u);
  EXPECT_EQ(pg.hosts[1].host, "h2");
  EXPECT_EQ(pg.hosts[1].port, std::nullopt);
  EXPECT_EQ(pg.path, "/db");
}

TEST(BackendUrl, S3MemoryAndHttp) {
  auto url = parsed("s3://bucket?endpoint=http://127.0.0.1:9000&region=eu-west-1");
  EXPECT_EQ(url.host().host, "bucket");
  EXPECT_EQ(url.param("endpoint"), "http://127.0.0.1:9000");
  EXPECT_EQ(parsed("s3://b?endpoint=http%3A%2F%2Fh%3A1").param("endpoint"), "http://h:1");

  url = parsed("memory://?max_bytes=256MiB&shards=4");
  EXPECT_TRUE(url.hosts.empty());
  EXPECT_EQ(url.path, "");
  ASSERT_EQ(url.query.size(), 2u);
  EXPECT_EQ(url.query[1].name, "shards");
  EXPECT_TRUE(parsed("memory://").query.empty());
  EXPECT_TRUE(parsed("memory://?").has_query);
  EXPECT_TRUE(parsed("memory://?").query.empty());

  url = parsed("https://collector.example:4318/v1/traces");
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.host().port, 4318);
  EXPECT_EQ(url.path, "/v1/traces");
}

TEST(BackendUrl, ParametersKeepTheirOrderDuplicatesAndMissingValues) {
  const auto url = parsed("memory://?a=1&flag&a=2&&empty=");
  ASSERT_EQ(url.query.size(), 4u);
  EXPECT_EQ(url.query[0].value, "1");
  EXPECT_FALSE(url.query[1].has_value);
  EXPECT_EQ(url.query[2].value, "2");
  EXPECT_TRUE(url.query[3].has_value);
  EXPECT_EQ(url.param("a"), "1");
}

TEST(BackendUrl, PathFormTakesEverythingBeforeTheQuery) {
  EXPECT_EQ(parsed("sqlite://data/stoa.db", UrlForm::path).path, "data/stoa.db");
  EXPECT_EQ(parsed("sqlite:///var/lib/stoa.db", UrlForm::path).path, "/var/lib/stoa.db");
  EXPECT_EQ(parsed("sqlite://:memory:", UrlForm::path).path, ":memory:");
  auto url = parsed("sqlite://x.db?busy_timeout=5s", UrlForm::path);
  EXPECT_EQ(url.path, "x.db");
  EXPECT_EQ(url.param("busy_timeout"), "5s");
  EXPECT_EQ(parsed("file:///srv/my%20objects?bucket=b", UrlForm::path).path, "/srv/my objects");
  EXPECT_EQ(parsed("embedded://data/events", UrlForm::path).path, "data/events");
  EXPECT_EQ(parsed("embedded://", UrlForm::path).path, "");
  EXPECT_TRUE(parsed("embedded://d#x", UrlForm::path).has_fragment);
}

TEST(BackendUrl, TheSchemeIsCaseInsensitive) {
  EXPECT_EQ(parsed("PostgreSQL://h/db").scheme, "postgresql");
  EXPECT_EQ(url_scheme("Redis://h"), "redis");
  EXPECT_EQ(url_scheme("no scheme"), "");
  EXPECT_EQ(url_scheme("://h"), "");
  EXPECT_EQ(url_scheme("1x://h"), "");
}

TEST(BackendUrl, BadUrlsAreRefusedWithoutEchoingThem) {
  for (const char* bad : {"no-scheme", "redis://:secret@host:0", "redis://:secret@host:70000",
                          "redis://:secret@host:12ab/", "redis://:secret@host:port",
                          "redis://:secret@ho st", "redis://:secret@[::1", "redis://:secret@h/%zz",
                          "kafka://k1:9092,,k2:9092", "redis://:secret@host:/0", "redis://h%00x"}) {
    const auto url = parse_backend_url(bad);
    ASSERT_FALSE(url) << bad;
    EXPECT_EQ(url.error().code, Errc::invalid_argument);
    EXPECT_EQ(url.error().message.find("secret"), std::string::npos) << url.error().message;
  }
  EXPECT_NE(parse_backend_url("redis://h:0").error().message.find("port"), std::string::npos);
  EXPECT_FALSE(parse_backend_url("sqlite:////x", UrlForm::path));
  EXPECT_FALSE(parse_backend_url("sqlite://a b", UrlForm::path));
}

TEST(BackendUrl, RedactionHidesOnlyThePassword) {
  EXPECT_EQ(redact_url("redis://user:secret@host:1/0"), "redis://user:***@host:1/0");
  EXPECT_EQ(redact_url("redis://host:1/0"), "redis://host:1/0");
  EXPECT_EQ(redact_url("amqp://user@host"), "amqp://user@host");
  EXPECT_EQ(redact_url("postgresql://u:secret@h1,h2:5433/db"), "postgresql://u:***@h1,h2:5433/db");
  EXPECT_EQ(redact_url("sqlite://data/stoa.db"), "sqlite://data/stoa.db");
  // What does not parse may hide a password anywhere.
  EXPECT_EQ(redact_url("redis://:secret@ho st:1"), "redis://...");
  EXPECT_EQ(redact_url("not a url"), "...");
}

TEST(BackendUrl, MessagesQuoteOnlyTheScheme) {
  EXPECT_EQ(quote_url_for_message("postgresql://u:secret@h/db"), "\"postgresql://...\"");
  EXPECT_EQ(quote_url_for_message("sqlite"), "\"sqlite\"");
  EXPECT_EQ(quote_url_for_message("1x://u:secret@h"), "\"...\"");
}

}  // namespace
}  // namespace stoa
