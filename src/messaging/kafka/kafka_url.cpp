// parse_kafka_url(): kafka://host:port[,host:port…][?option=value&…].
#include <charconv>
#include <set>

#include "messaging/kafka/kafka_broker.h"
#include "runtime/backend_url.h"

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

}  // namespace

Result<KafkaSettings> parse_kafka_url(const std::string& url) {
  if (url_scheme(url) != "kafka") return bad(url, "expected kafka://HOST:PORT[,HOST:PORT…]");
  auto parsed = parse_backend_url(url);
  if (!parsed) return bad(url, parsed.error().message);
  if (parsed->hosts.empty()) return bad(url, "names no broker (kafka://HOST:PORT)");
  if (parsed->has_userinfo || (!parsed->path.empty() && parsed->path != "/") ||
      parsed->has_fragment) {
    return bad(url, "each broker must be HOST:PORT (credentials go in sasl.* options)");
  }
  KafkaSettings settings;
  for (const UrlHost& host : parsed->hosts) {
    if (!host.port) return bad(url, "each broker must be HOST:PORT");
    if (!settings.bootstrap.empty()) settings.bootstrap += ',';
    settings.bootstrap += host.ipv6 ? "[" + host.host + "]" : host.host;
    settings.bootstrap += ":" + std::to_string(*host.port);
  }
  for (const UrlParam& param : parsed->query) {
    if (!param.has_value) return bad(url, "an option without a value");
    const std::string& key = param.name;
    const std::string& value = param.value;
    if (key == "partitions" || key == "replication_factor") {
      int n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || ptr != value.data() + value.size() || n < 1 || n > 10000) {
        return bad(url, key + " must be a number from 1 to 10000");
      }
      (key == "partitions" ? settings.partitions : settings.replication_factor) = n;
    } else if (key.find('.') == std::string::npos) {
      return bad(url, "unknown option " + quote_for_message(key) +
                          " (partitions, replication_factor, or a librdkafka property)");
    } else if (owned_properties().contains(key)) {
      return bad(
          url, "option " + quote_for_message(key) + " is set by the adapter and cannot be changed");
    } else {
      settings.properties.emplace_back(key, value);
    }
  }
  return settings;
}

}  // namespace stoa::messaging::kafka
