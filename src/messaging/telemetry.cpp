#include "messaging/telemetry.h"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "observability/telemetry.h"

namespace stoa::messaging {

namespace {

using Clock = std::chrono::steady_clock;

const std::vector<double>& buckets() {
  // From 250 µs: an embedded publish is one batched fdatasync away.
  static const std::vector<double> b{0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,     0.25,   0.5,   1,      2.5,   5,    10,    30};
  return b;
}

// Handles are looked up once per label set and kept (registration takes a lock).
class Instruments {
 public:
  Instruments(obs::Telemetry& telemetry, std::string system)
      : telemetry_(telemetry), system_(std::move(system)) {}

  obs::Tracer& tracer() { return telemetry_.tracer(); }
  const std::string& system() const { return system_; }

  void published(const std::string& topic, const Error* error, double seconds) {
    const std::string error_type = error == nullptr ? "" : to_string(error->code);
    std::lock_guard lock(mutex_);
    auto key = topic + '\n' + error_type;
    auto it = publish_.find(key);
    if (it == publish_.end()) {
      obs::Labels labels{{"messaging_system", system_}, {"messaging_destination_name", topic}};
      if (error != nullptr) labels.emplace_back("error_type", error_type);
      auto& metrics = telemetry_.metrics();
      it = publish_
               .emplace(key,
                        std::make_pair(
                            metrics.histogram("messaging_publish_duration_seconds",
                                              "Duration of publishes, until confirmed.", buckets(),
                                              labels),
                            metrics.counter("messaging_publish_messages_total",
                                            "Messages published (confirmed or failed).", labels)))
               .first;
    }
    it->second.first.observe(seconds);
    it->second.second.inc();
  }

  void received(const std::string& group) {
    std::lock_guard lock(mutex_);
    auto it = receive_.find(group);
    if (it == receive_.end()) {
      it = receive_
               .emplace(group, telemetry_.metrics().counter(
                                   "messaging_receive_messages_total",
                                   "Messages delivered to consumers (redeliveries included).",
                                   {{"messaging_system", system_},
                                    {"messaging_consumer_group_name", group}}))
               .first;
    }
    it->second.inc();
  }

  void settled(const std::string& group, const char* outcome, double seconds) {
    std::lock_guard lock(mutex_);
    auto key = group + '\n' + outcome;
    auto it = process_.find(key);
    if (it == process_.end()) {
      obs::Labels labels{{"messaging_system", system_},
                         {"messaging_consumer_group_name", group},
                         {"stoa_outcome", outcome}};
      auto& metrics = telemetry_.metrics();
      it = process_
               .emplace(key, std::make_pair(
                                 metrics.histogram("messaging_process_duration_seconds",
                                                   "Time from delivery to ack, nack or reject.",
                                                   buckets(), labels),
                                 metrics.counter("messaging_process_messages_total",
                                                 "Deliveries settled, by outcome (ack, retry, "
                                                 "dead_letter).",
                                                 labels)))
               .first;
    }
    it->second.first.observe(seconds);
    it->second.second.inc();
  }

 private:
  obs::Telemetry& telemetry_;
  std::string system_;
  std::mutex mutex_;
  std::map<std::string, std::pair<obs::Histogram, obs::Counter>> publish_;
  std::map<std::string, obs::Counter> receive_;
  std::map<std::string, std::pair<obs::Histogram, obs::Counter>> process_;
};

TraceContext parent_of(const Event& event) {
  if (auto parsed = parse_traceparent(event.traceparent)) {
    parsed->tracestate = event.tracestate;
    return *parsed;
  }
  return TraceContext{};
}

class InstrumentedConsumer final : public Consumer {
 public:
  InstrumentedConsumer(std::unique_ptr<Consumer> inner, std::shared_ptr<Instruments> instruments)
      : inner_(std::move(inner)), instruments_(std::move(instruments)) {}

  Awaitable<Result<Delivery>> receive(std::chrono::milliseconds wait) override {
    auto delivery = co_await inner_->receive(wait);
    if (delivery) begin(*delivery);
    co_return delivery;
  }

  Awaitable<Status> ack(Delivery delivery) override {
    auto key = std::make_pair(delivery.tag, delivery.lease);
    const std::string group = delivery.group;
    auto status = co_await inner_->ack(std::move(delivery));
    settle(key, group, "ack", status, "");
    co_return status;
  }

  Awaitable<Status> nack(Delivery delivery, std::string reason,
                         std::optional<std::chrono::milliseconds> delay) override {
    auto key = std::make_pair(delivery.tag, delivery.lease);
    const std::string group = delivery.group;
    auto status = co_await inner_->nack(std::move(delivery), reason, delay);
    settle(key, group, "retry", status, reason);
    co_return status;
  }

  Awaitable<Status> reject(Delivery delivery, std::string reason) override {
    auto key = std::make_pair(delivery.tag, delivery.lease);
    const std::string group = delivery.group;
    auto status = co_await inner_->reject(std::move(delivery), reason);
    settle(key, group, "dead_letter", status, reason);
    co_return status;
  }

  void close() override {
    inner_->close();
    std::lock_guard lock(mutex_);
    in_flight_.clear();  // their spans end now, unsettled
  }

 private:
  struct InFlight {
    Clock::time_point start;
    std::unique_ptr<obs::Span> span;
  };

  // Plain functions, not coroutines: they run at a delivery's start and end.
  void begin(Delivery& delivery) {
    instruments_->received(delivery.group);
    TraceContext parent = parent_of(delivery.message.event);
    parent.recording = instruments_->tracer().admit(parent);
    auto span =
        std::make_unique<obs::Span>(instruments_->tracer(), parent,
                                    "process " + delivery.message.topic, obs::SpanKind::consumer);
    span->set_attribute("messaging.system", instruments_->system());
    span->set_attribute("messaging.operation.type", std::string("process"));
    span->set_attribute("messaging.destination.name", delivery.message.topic);
    span->set_attribute("messaging.consumer.group.name", delivery.group);
    span->set_attribute("messaging.message.id", delivery.message.event.id);
    span->set_attribute("messaging.message.delivery_attempt",
                        static_cast<std::int64_t>(delivery.attempt));
    span->set_attribute("cloudevents.event_type", delivery.message.event.type);
    delivery.trace = span->context();
    std::lock_guard lock(mutex_);
    in_flight_.insert_or_assign(std::make_pair(delivery.tag, delivery.lease),
                                InFlight{Clock::now(), std::move(span)});
  }

  void settle(std::pair<std::uint64_t, std::uint64_t> key, const std::string& group,
              const char* outcome, const Status& status, const std::string& reason) {
    std::optional<InFlight> done;
    {
      std::lock_guard lock(mutex_);
      auto it = in_flight_.find(key);
      if (it == in_flight_.end()) return;
      done.emplace(std::move(it->second));
      in_flight_.erase(it);
    }
    const std::chrono::duration<double> elapsed = Clock::now() - done->start;
    if (status) instruments_->settled(group, outcome, elapsed.count());
    done->span->set_attribute("stoa.outcome", std::string(outcome));
    if (!status) {
      done->span->set_error(status.error().message);
    } else if (!reason.empty()) {
      done->span->set_error(reason);
    }
  }

  std::unique_ptr<Consumer> inner_;
  std::shared_ptr<Instruments> instruments_;
  std::mutex mutex_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, InFlight> in_flight_;
};

class InstrumentedBroker final : public Broker {
 public:
  InstrumentedBroker(std::shared_ptr<Broker> inner, obs::Telemetry& telemetry)
      : inner_(std::move(inner)),
        instruments_(std::make_shared<Instruments>(telemetry, std::string(inner_->system()))) {}

  std::string_view system() const override { return inner_->system(); }

  Awaitable<Status> publish(Message message) override {
    auto span = start_publish(message);
    const std::string topic = message.topic;
    const auto start = Clock::now();
    auto status = co_await inner_->publish(std::move(message));
    finish_publish(std::move(span), topic, start, status);
    co_return status;
  }

  Awaitable<Status> declare_group(GroupSpec group) override {
    co_return co_await inner_->declare_group(std::move(group));
  }

  Awaitable<Result<std::unique_ptr<Consumer>>> subscribe(ConsumerOptions options) override {
    auto consumer = co_await inner_->subscribe(std::move(options));
    if (!consumer) co_return consumer.error();
    co_return std::unique_ptr<Consumer>(
        std::make_unique<InstrumentedConsumer>(std::move(consumer).value(), instruments_));
  }

  Awaitable<Result<std::vector<DeadLetter>>> dead_letters(std::string group,
                                                          std::size_t limit) override {
    co_return co_await inner_->dead_letters(std::move(group), limit);
  }
  Awaitable<Status> replay_dead_letter(std::string group, std::uint64_t tag) override {
    co_return co_await inner_->replay_dead_letter(std::move(group), tag);
  }
  Awaitable<Result<std::vector<GroupStatus>>> groups() override {
    co_return co_await inner_->groups();
  }
  Awaitable<Status> ping() override { co_return co_await inner_->ping(); }
  void close() override { inner_->close(); }

 private:
  // Not coroutines (see InstrumentedConsumer::begin).
  std::unique_ptr<obs::Span> start_publish(Message& message) {
    TraceContext parent = parent_of(message.event);
    parent.recording = instruments_->tracer().admit(parent);
    auto span = std::make_unique<obs::Span>(instruments_->tracer(), parent,
                                            "publish " + message.topic, obs::SpanKind::producer);
    span->set_attribute("messaging.system", instruments_->system());
    span->set_attribute("messaging.operation.type", std::string("send"));
    span->set_attribute("messaging.destination.name", message.topic);
    span->set_attribute("messaging.message.id", message.event.id);
    span->set_attribute("cloudevents.event_type", message.event.type);
    // Consumers continue the trace from the producer span.
    message.event.traceparent = span->context().traceparent();
    message.event.tracestate = span->context().tracestate;
    return span;
  }

  void finish_publish(std::unique_ptr<obs::Span> span, const std::string& topic,
                      Clock::time_point start, const Status& status) {
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    instruments_->published(topic, status ? nullptr : &status.error(), elapsed.count());
    if (!status) span->set_error(status.error().message);
  }

  std::shared_ptr<Broker> inner_;
  std::shared_ptr<Instruments> instruments_;
};

}  // namespace

std::shared_ptr<Broker> instrument(std::shared_ptr<Broker> inner, obs::Telemetry& telemetry) {
  return std::make_shared<InstrumentedBroker>(std::move(inner), telemetry);
}

}  // namespace stoa::messaging
