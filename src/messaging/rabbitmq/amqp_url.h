#pragma once
// amqp://user:password@host:port/vhost?namespace=NAME — where the RabbitMQ adapter connects.
// The vhost is percent-decoded ("%2f" is "/", the default when the path is empty or "/");
// user and password default to guest:guest, the port to 5672. `namespace` (default "stoa")
// prefixes every exchange and queue the adapter declares, so several deployments (or test
// runs) can share one vhost without seeing each other's events.
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/error.h"

namespace stoa::messaging::rabbitmq {

struct AmqpUrl {
  std::string host;
  std::uint16_t port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  std::string ns = "stoa";
};

// Errc::invalid_argument naming what is wrong (never the password). amqps:// is refused:
// TLS to the broker is not built yet.
Result<AmqpUrl> parse_amqp_url(std::string_view url);

}  // namespace stoa::messaging::rabbitmq
