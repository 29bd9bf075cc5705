#include "messaging/rabbitmq/amqp_url.h"

#include <charconv>

#include "runtime/http_types.h"

namespace stoa::messaging::rabbitmq {

namespace {

constexpr std::string_view kScheme = "amqp://";
constexpr std::size_t kMaxNamespace = 32;  // queue names are at most 255 bytes in all

Error bad_url(std::string_view why) {
  return Error{Errc::invalid_argument,
               "broker.url \"amqp://...\": " + std::string(why) +
                   " (expected amqp://user:password@host:port/vhost?namespace=NAME)"};
}

bool namespace_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

Result<std::string> decoded(std::string_view text, std::string_view what) {
  auto out = http::percent_decode(text);
  if (!out) return bad_url("a malformed %-escape in the " + std::string(what));
  return std::move(*out);
}

Status parse_query(std::string_view query, AmqpUrl& out) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (key != "namespace") {
      return bad_url("unknown option " + quote_for_message(key) + " (only namespace=)");
    }
    if (value.empty() || value.size() > kMaxNamespace) {
      return bad_url("namespace must be 1-" + std::to_string(kMaxNamespace) + " characters");
    }
    for (char c : value) {
      if (!namespace_char(c)) return bad_url("namespace may hold only A-Z a-z 0-9 - _");
    }
    out.ns = std::string(value);
  }
  return Ok{};
}

}  // namespace

Result<AmqpUrl> parse_amqp_url(std::string_view url) {
  if (url.starts_with("amqps://")) {
    return bad_url(
        "TLS to RabbitMQ (amqps://) is not supported yet; use amqp:// on a trusted "
        "network");
  }
  if (!url.starts_with(kScheme)) return bad_url("not an amqp:// URL");
  AmqpUrl out;
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos) return bad_url("a fragment is not allowed");
  if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
    auto status = parse_query(rest.substr(q + 1), out);
    if (!status) return status.error();
    rest = rest.substr(0, q);
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    auto vhost = decoded(rest.substr(slash + 1), "vhost");
    if (!vhost) return vhost.error();
    out.vhost = std::move(vhost).value();
  }
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    auto user = decoded(userinfo.substr(0, colon), "user");
    if (!user) return user.error();
    out.user = std::move(user).value();
    out.password.clear();
    if (colon != std::string_view::npos) {
      auto password = decoded(userinfo.substr(colon + 1), "password");
      if (!password) return bad_url("a malformed %-escape in the password");
      out.password = std::move(password).value();
    }
  }
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {
    return bad_url("IPv6 literal hosts are not supported; use a name");
  }
  if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    const std::string_view port = authority.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return bad_url("the port must be a number 1-65535");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  if (host.empty()) return bad_url("no host");
  out.host = std::string(host);
  return out;
}

}  // namespace stoa::messaging::rabbitmq
