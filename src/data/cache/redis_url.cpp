// Parsing of redis:// URLs (declared in redis_client.h).
#include <charconv>

#include "data/cache/redis_client.h"

namespace stoa::cache {

namespace {

constexpr std::string_view kScheme = "redis://";

Error bad_url(std::string_view url, std::string_view why) {
  return Error{
      Errc::invalid_argument,
      "invalid cache URL " + quote_for_message(redact_url(url), 200) + ": " + std::string(why)};
}

template <class Int>
bool parse_int(std::string_view text, Int& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string redact_url(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const std::size_t start = scheme + 3;
  const std::size_t at = url.find('@', start);
  const std::size_t slash = url.find('/', start);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  const std::size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

Result<RedisOptions> parse_redis_url(std::string_view url) {
  if (url.substr(0, kScheme.size()) != kScheme) {
    return bad_url(url, "expected redis://[[user]:password@]host[:port][/database]");
  }
  RedisOptions options;
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bad_url(url, "query strings and fragments are not supported");
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);

  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return bad_url(url, "credentials must be [user]:password");
    }
    options.username = std::string(userinfo.substr(0, colon));
    options.password = std::string(userinfo.substr(colon + 1));
  }

  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad_url(url, "unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url(url, "expected ':' after ']'");
      port = after.substr(1);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad_url(url, "the host is missing");
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return bad_url(url, "the host has a space or control character");
  }
  options.host = std::string(host);
  if (!port.empty() || authority.back() == ':') {
    unsigned value = 0;
    if (!parse_int(port, value) || value == 0 || value > 65535) {
      return bad_url(url, "the port must be a number from 1 to 65535");
    }
    options.port = static_cast<std::uint16_t>(value);
  }
  if (!path.empty()) {
    int db = 0;
    if (!parse_int(path, db) || db < 0 || db > 1'000'000) {
      return bad_url(url, "the database must be a number, as in redis://host:6379/0");
    }
    options.database = db;
  }
  return options;
}

}  // namespace stoa::cache
