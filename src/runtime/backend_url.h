#pragma once
// The one parser of backend URLs (database.url, cache.url, broker.url, objects.url and the
// HTTP endpoints adapters talk to), on Boost.URL (RFC 3986) inside backend_url.cpp. It gives
// the parts, percent-decoded; each adapter then checks what its own scheme allows (a port,
// a path, which query parameters) and words its own errors.
//
// Two forms:
// - UrlForm::authority, SCHEME://[user[:password]@]host[:port][,host[:port]…][/path][?query]:
//   postgresql, redis, amqp, kafka, s3, http(s), memory. A comma-separated list of hosts (Kafka's
//   bootstrap servers, libpq's multi-host URLs) is split before Boost.URL reads each host,
//   because RFC 3986 has no such authority. IPv6 hosts are written [::1] and come back as ::1.
// - UrlForm::path, SCHEME://PATH[?query]: sqlite, file, embedded. Everything before the query
//   is the path, relative ("sqlite://data/stoa.db" is data/stoa.db) or absolute
//   ("sqlite:///var/lib/stoa.db"), or a name such as :memory:.
//
// Errors are Errc::invalid_argument with a message that never holds the URL itself (it may
// carry a password): the caller names the URL with quote_url_for_message() or redact_url().
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/error.h"

namespace stoa {

enum class UrlForm { authority, path };

struct UrlHost {
  std::string host;                   // decoded; an IPv6 address without its brackets
  std::optional<std::uint16_t> port;  // 1-65535 when given
  bool ipv6 = false;
};

struct UrlParam {
  std::string name;   // decoded ('+' stays '+': these are not HTML forms)
  std::string value;  // decoded; empty when there is no '='
  bool has_value = false;
};

struct BackendUrl {
  std::string scheme;  // lower case
  bool has_userinfo = false;
  bool has_password = false;    // a ':' in the userinfo, even with nothing after it
  std::string user;             // decoded
  std::string password;         // decoded; never log it (redact_url())
  std::vector<UrlHost> hosts;   // in order; empty for the path form or an empty authority
  std::string path;             // decoded: "/db" (authority form), "data/stoa.db" (path form)
  bool has_query = false;       // a '?', even with nothing after it
  std::vector<UrlParam> query;  // in order, duplicates kept
  bool has_fragment = false;

  // The first host, or an empty one.
  const UrlHost& host() const;
  // The value of the first parameter `name`, if any.
  std::optional<std::string> param(std::string_view name) const;
};

Result<BackendUrl> parse_backend_url(std::string_view url, UrlForm form = UrlForm::authority);

// The scheme of `url` in lower case ("postgresql" of "PostgreSQL://…"), or "" when it does not
// start with SCHEME://.
std::string url_scheme(std::string_view url);

// `url` for messages and logs: the password replaced by "***"
// ("redis://user:***@host:1/0"); a URL that does not parse is cut to its scheme
// ("redis://..."), as it may hide a password anywhere.
std::string redact_url(std::string_view url);

}  // namespace stoa
