// Parsing of redis:// URLs (declared in redis_client.h), on the runtime's URL parser: this
// file checks what a Redis URL may hold.
#include <charconv>

#include "data/cache/redis_client.h"

namespace stoa::cache {

namespace {

Error bad_url(std::string_view url, std::string_view why) {
  return Error{
      Errc::invalid_argument,
      "invalid cache URL " + quote_for_message(redact_url(url), 200) + ": " + std::string(why)};
}

}  // namespace

Result<RedisOptions> parse_redis_url(std::string_view url) {
  if (url_scheme(url) != "redis") {
    return bad_url(url, "expected redis://[[user]:password@]host[:port][/database]");
  }
  auto parsed = parse_backend_url(url);
  if (!parsed) return bad_url(url, parsed.error().message);
  if (parsed->has_query || parsed->has_fragment) {
    return bad_url(url, "query strings and fragments are not supported");
  }
  RedisOptions options;
  if (parsed->has_userinfo) {
    if (!parsed->has_password) return bad_url(url, "credentials must be [user]:password");
    options.username = parsed->user;
    options.password = parsed->password;
  }
  if (parsed->hosts.size() > 1) return bad_url(url, "names more than one host");
  const UrlHost& host = parsed->host();
  if (host.host.empty()) return bad_url(url, "the host is missing");
  options.host = host.host;
  if (host.port) options.port = *host.port;
  std::string_view path = parsed->path;
  if (path.starts_with('/')) path.remove_prefix(1);
  if (!path.empty()) {
    int db = -1;
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc() || end != path.data() + path.size() || db < 0 || db > 1'000'000) {
      return bad_url(url, "the database must be a number, as in redis://host:6379/0");
    }
    options.database = db;
  }
  return options;
}

}  // namespace stoa::cache
