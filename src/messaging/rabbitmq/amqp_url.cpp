#include "messaging/rabbitmq/amqp_url.h"

#include "runtime/backend_url.h"

namespace stoa::messaging::rabbitmq {

namespace {

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

Status parse_query(const BackendUrl& url, AmqpUrl& out) {
  for (const UrlParam& param : url.query) {
    if (param.name != "namespace") {
      return bad_url("unknown option " + quote_for_message(param.name) + " (only namespace=)");
    }
    if (param.value.empty() || param.value.size() > kMaxNamespace) {
      return bad_url("namespace must be 1-" + std::to_string(kMaxNamespace) + " characters");
    }
    for (char c : param.value) {
      if (!namespace_char(c)) return bad_url("namespace may hold only A-Z a-z 0-9 - _");
    }
    out.ns = param.value;
  }
  return Ok{};
}

}  // namespace

Result<AmqpUrl> parse_amqp_url(std::string_view url) {
  const std::string scheme = url_scheme(url);
  if (scheme == "amqps") {
    return bad_url(
        "TLS to RabbitMQ (amqps://) is not supported yet; use amqp:// on a trusted "
        "network");
  }
  if (scheme != "amqp") return bad_url("not an amqp:// URL");
  auto parsed = parse_backend_url(url);
  if (!parsed) return bad_url(parsed.error().message);
  if (parsed->has_fragment) return bad_url("a fragment is not allowed");
  AmqpUrl out;
  if (auto status = parse_query(*parsed, out); !status) return status.error();
  // The path is "/" and the vhost, whose own "/" is written %2f.
  if (parsed->path.size() > 1) out.vhost = parsed->path.substr(1);
  if (parsed->has_userinfo) {
    out.user = parsed->user;
    out.password = parsed->password;
  }
  if (parsed->hosts.size() > 1) return bad_url("more than one host");
  const UrlHost& host = parsed->host();
  if (host.ipv6) return bad_url("IPv6 literal hosts are not supported; use a name");
  if (host.host.empty()) return bad_url("no host");
  out.host = host.host;
  if (host.port) out.port = *host.port;
  return out;
}

}  // namespace stoa::messaging::rabbitmq
