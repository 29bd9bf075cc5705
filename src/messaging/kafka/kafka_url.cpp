// parse_kafka_url(): kafka://host:port[,host:port…][?option=value&…].
#include <charconv>
#include <set>

#include "messaging/kafka/kafka_broker.h"
#include "runtime/http_types.h"

namespace stoa::messaging::kafka {

namespace {

// Properties the adapter owns: what its guarantees rest on (docs/messaging.md).
const std::set<std::string, std::less<>>& owned_properties() {
  static const std::set<std::string, std::less<>> owned = {
      "bootstrap.servers",     "metadata.broker.list", "enable.idempotence",       "acks",
      "request.required.acks", "enable.auto.commit",   "enable.auto.offset.store", "group.id",
      "auto.offset.reset",     "enable.partition.eof"};
  return owned;
}

Error bad(const std::string& url, const std::string& why) {
  return Error{Errc::invalid_argument, "broker.url " + quote_url_for_message(url) + ": " + why};
}

bool valid_host_port(std::string_view hp) {
  const auto colon = hp.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == hp.size()) return false;
  int port = 0;
  const auto* end = hp.data() + hp.size();
  auto [ptr, ec] = std::from_chars(hp.data() + colon + 1, end, port);
  if (ec != std::errc{} || ptr != end || port < 1 || port > 65535) return false;
  for (char c : hp.substr(0, colon)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Result<KafkaSettings> parse_kafka_url(const std::string& url) {
  constexpr std::string_view prefix = "kafka://";
  if (!url.starts_with(prefix)) return bad(url, "expected kafka://HOST:PORT[,HOST:PORT…]");
  std::string_view rest = std::string_view(url).substr(prefix.size());
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  KafkaSettings settings;
  if (rest.empty()) return bad(url, "names no broker (kafka://HOST:PORT)");
  for (std::size_t start = 0; start <= rest.size();) {
    auto comma = rest.find(',', start);
    if (comma == std::string_view::npos) comma = rest.size();
    const auto hp = rest.substr(start, comma - start);
    if (!valid_host_port(hp)) return bad(url, "each broker must be HOST:PORT");
    start = comma + 1;
  }
  settings.bootstrap = std::string(rest);
  for (std::size_t start = 0; start < query.size();) {
    auto amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    const auto pair = query.substr(start, amp - start);
    start = amp + 1;
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) return bad(url, "an option without a value");
    auto key = http::percent_decode(pair.substr(0, eq));
    auto value = http::percent_decode(pair.substr(eq + 1));
    if (!key || !value) return bad(url, "a malformed %-escape in the options");
    if (*key == "partitions" || *key == "replication_factor") {
      int n = 0;
      auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
      if (ec != std::errc{} || ptr != value->data() + value->size() || n < 1 || n > 10000) {
        return bad(url, *key + " must be a number from 1 to 10000");
      }
      (*key == "partitions" ? settings.partitions : settings.replication_factor) = n;
    } else if (key->find('.') == std::string::npos) {
      return bad(url, "unknown option " + quote_for_message(*key) +
                          " (partitions, replication_factor, or a librdkafka property)");
    } else if (owned_properties().contains(*key)) {
      return bad(url, "option " + quote_for_message(*key) +
                          " is set by the adapter and cannot be changed");
    } else {
      settings.properties.emplace_back(std::move(*key), std::move(*value));
    }
  }
  return settings;
}

}  // namespace stoa::messaging::kafka
