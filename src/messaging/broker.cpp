// open_broker(): picks the adapter by the URL's scheme; broker(): the process's one broker.
#include <stdexcept>

#include "messaging/adapter.h"
#include "messaging/broker.h"
#include "messaging/telemetry.h"
#include "runtime/backend_registry.h"
#include "runtime/component.h"
#include "runtime/config.h"
#include "runtime/shared_client.h"

namespace stoa::messaging {

namespace {

BackendRegistry<AdapterFactory>& adapters() {
  static BackendRegistry<AdapterFactory> registry("broker.url");
  return registry;
}

}  // namespace

bool register_adapter(std::string scheme, AdapterFactory factory) {
  return adapters().add(std::move(scheme), std::move(factory));
}

BrokerOptions BrokerOptions::from_config(const Config& config) {
  BrokerOptions options;
  options.url = config.string("broker.url");
  options.max_attempts =
      static_cast<std::uint32_t>(config.integer_in("broker.max_attempts", 1, 1000));
  options.retry_delay = config.duration("broker.retry_delay");
  options.max_retry_delay = config.duration("broker.max_retry_delay");
  options.visibility_timeout = config.duration("broker.visibility_timeout");
  options.prefetch = static_cast<std::size_t>(config.integer_in("broker.prefetch", 1, 65535));
  options.max_message_bytes = config.bytes("broker.max_message_bytes");
  options.segment_bytes = config.bytes("broker.segment_bytes");
  if (options.retry_delay.count() <= 0 || options.max_retry_delay < options.retry_delay) {
    throw std::invalid_argument(
        "broker.retry_delay must be positive and at most broker.max_retry_delay");
  }
  if (options.visibility_timeout < std::chrono::milliseconds(100)) {
    throw std::invalid_argument("broker.visibility_timeout must be at least 100ms");
  }
  if (options.max_message_bytes < 1024 || options.max_message_bytes > 64 * 1024 * 1024) {
    throw std::invalid_argument("broker.max_message_bytes must be between 1KiB and 64MiB");
  }
  if (options.segment_bytes < 2 * options.max_message_bytes) {
    throw std::invalid_argument("broker.segment_bytes must be at least twice max_message_bytes");
  }
  return options;
}

RetryPolicy BrokerOptions::retry_policy() const {
  RetryPolicy policy;
  policy.initial_delay = retry_delay;
  policy.max_delay = max_retry_delay;
  policy.multiplier = 2;
  // No jitter: every adapter must compute the same delays (RabbitMQ declares one retry
  // queue per delay, rabbitmq_state.cpp), and a retry's time is part of the contract.
  policy.jitter = Jitter::none;
  policy.max_attempts = max_attempts;
  return policy;
}

std::chrono::milliseconds BrokerOptions::backoff(std::uint32_t attempt) const {
  return retry_policy().base_delay(attempt);
}

Status check_name(std::string_view what, std::string_view name, std::size_t max_bytes) {
  if (name.empty() || name.size() > max_bytes) {
    return Error{Errc::invalid_argument,
                 std::string(what) + " must be 1-" + std::to_string(max_bytes) + " bytes"};
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      return Error{Errc::invalid_argument, std::string(what) + " " + quote_for_message(name) +
                                               " holds spaces or control characters"};
    }
  }
  return Ok{};
}

Status check_group(const GroupSpec& group, std::size_t max_name_bytes) {
  auto status = check_name("the group name", group.name, max_name_bytes);
  if (!status) return status;
  if (group.topics.empty()) {
    return Error{Errc::invalid_argument, "group " + group.name + " names no topic"};
  }
  for (const auto& topic : group.topics) {
    status = check_name("the topic", topic, max_name_bytes);
    if (!status) return status;
  }
  return Ok{};
}

Result<std::shared_ptr<Broker>> open_broker(const BrokerOptions& options, EventLoop& loop,
                                            obs::Telemetry* telemetry) {
  auto factory = adapters().find(options.url);
  if (!factory) return factory.error();
  auto opened = (*factory)(options, loop, telemetry);
  if (!opened || telemetry == nullptr) return opened;
  return instrument(std::move(opened).value(), *telemetry);
}

std::shared_ptr<Broker> broker(ComponentHost& host) {
  // close() finishes the writes in progress before the loop goes.
  return shared_client<Broker>(host, "broker", [&host]() -> std::shared_ptr<Broker> {
    auto options = BrokerOptions::from_config(host.config());
    options.clock = &host.clock();
    auto opened = open_broker(options, host.loop(), &host.telemetry());
    if (!opened) throw std::runtime_error("cannot open the broker: " + opened.error().message);
    return std::move(opened).value();
  });
}

}  // namespace stoa::messaging
