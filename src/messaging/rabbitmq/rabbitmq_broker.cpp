#include "messaging/rabbitmq/rabbitmq_broker.h"

#include "messaging/adapter.h"
#include "messaging/rabbitmq/rabbitmq_state.h"

namespace stoa::messaging::rabbitmq {

namespace {

// Group names go into queue names (at most 255 bytes, the namespace and a prefix included).
constexpr std::size_t kMaxName = 200;

Error no_group(const std::string& group) {
  return Error{Errc::not_found, "consumer group " + quote_for_message(group) + " is not declared"};
}

// A passive declare of the group's queue, with "not declared" as the message when missing.
Result<std::uint32_t> group_exists(Session& s, const Topology& t, const std::string& group) {
  auto found = s.declare_queue(t.group_queue(group), {}, true);
  if (!found && found.error().code == Errc::not_found) return no_group(group);
  return found;
}

// On (re)connect: the exchange, every group this process declared, every consumer.
Status on_connect(State& state, Session& s) {
  auto status = s.declare_exchange(state.topology.exchange());
  if (!status) return status;
  std::map<std::string, std::set<std::string>> groups;
  std::map<std::string, std::set<std::int64_t>> delays;
  std::vector<std::shared_ptr<ConsumerCore>> consumers;
  {
    std::lock_guard lock(state.mutex);
    groups = state.groups;
    delays = state.delays;
    consumers.assign(state.consumers.begin(), state.consumers.end());
  }
  for (const auto& [name, topics] : groups) {
    status = declare_topology(s, state.topology, name, topics, delays[name]);
    if (!status) return status;
  }
  for (const auto& core : consumers) {
    std::size_t prefetch = 0;
    std::string group;
    {
      std::lock_guard lock(state.mutex);
      if (core->closed) continue;
      prefetch = core->prefetch;
      group = core->group;
    }
    std::weak_ptr<ConsumerCore> weak = core;
    State* shared = &state;
    auto sink = [shared, weak](Inbound in) {
      auto c = weak.lock();
      if (!c) return;
      std::lock_guard lock(shared->mutex);
      if (c->closed) return;
      c->buffered.push_back(std::move(in));
      State::wake(*c);
    };
    auto channel = s.consume(state.topology.group_queue(group),
                             static_cast<std::uint16_t>(prefetch), std::move(sink));
    if (!channel) return channel.error();
    std::lock_guard lock(state.mutex);
    core->channel = *channel;
    core->generation = s.generation();
  }
  return Ok{};
}

void on_disconnect(State& state) {
  // Deliveries in hand came on the lost connection: RabbitMQ returns them to their queues.
  std::lock_guard lock(state.mutex);
  for (const auto& core : state.consumers) {
    core->buffered.clear();
    core->held.clear();
    core->channel = 0;
  }
}

class RabbitBroker final : public Broker {
 public:
  explicit RabbitBroker(std::shared_ptr<State> state) : state_(std::move(state)) {}
  ~RabbitBroker() override { close(); }

  std::string_view system() const override { return "rabbitmq"; }

  Awaitable<Status> publish(Message message) override {
    auto status = check_name("the topic", message.topic, kMaxName);
    if (!status) co_return status;
    auto envelope = cloudevents::encode(message.event, state_->limits);
    if (!envelope) {
      Status failed = envelope.error();
      co_return failed;
    }
    std::uint64_t tag = 0;
    {
      std::lock_guard lock(state_->mutex);
      while (tag == 0) tag = state_->random();
    }
    auto out = std::make_shared<AmqpMessage>(outbound(message, std::move(envelope).value(), tag));
    const std::string exchange = state_->topology.exchange();
    const std::string topic = message.topic;
    std::function<void(Session&, Complete)> job = [out, exchange, topic](Session& s,
                                                                         Complete complete) {
      s.publish(exchange, topic, *out, std::move(complete));
    };
    co_return co_await on_link(state_, std::move(job));
  }

  Awaitable<Status> declare_group(GroupSpec spec) override {
    auto status = check_group(spec, kMaxName);
    if (!status) co_return status;
    auto state = state_;
    auto group = std::make_shared<const GroupSpec>(std::move(spec));
    std::function<void(Session&, Complete)> job = [state, group](Session& s, Complete complete) {
      const std::set<std::string> topics(group->topics.begin(), group->topics.end());
      const auto delays = state->backoff_delays();
      auto declared = declare_topology(s, state->topology, group->name, topics, delays);
      if (declared) {
        std::lock_guard lock(state->mutex);
        state->groups[group->name].insert(topics.begin(), topics.end());
        state->delays[group->name].insert(delays.begin(), delays.end());
      }
      complete(declared);
    };
    co_return co_await on_link(state, std::move(job));
  }

  Awaitable<Result<std::unique_ptr<Consumer>>> subscribe(ConsumerOptions options) override {
    auto core = std::make_shared<ConsumerCore>();
    core->group = options.group;
    core->prefetch = std::min<std::size_t>(
        options.prefetch == 0 ? state_->options.prefetch : options.prefetch, 65535);
    auto state = state_;
    std::function<void(Session&, Complete)> job = [state, core](Session& s, Complete complete) {
      auto found = group_exists(s, state->topology, core->group);
      if (!found) return complete(found.error());
      std::weak_ptr<ConsumerCore> weak = core;
      State* shared = state.get();
      auto sink = [shared, weak](Inbound in) {
        auto c = weak.lock();
        if (!c) return;
        std::lock_guard lock(shared->mutex);
        if (c->closed) return;
        c->buffered.push_back(std::move(in));
        State::wake(*c);
      };
      auto channel = s.consume(state->topology.group_queue(core->group),
                               static_cast<std::uint16_t>(core->prefetch), std::move(sink));
      if (!channel) return complete(channel.error());
      {
        std::lock_guard lock(state->mutex);
        core->channel = *channel;
        core->generation = s.generation();
        state->consumers.insert(core);
      }
      complete(Ok{});
    };
    auto status = co_await on_link(state, std::move(job));
    if (!status) {
      Result<std::unique_ptr<Consumer>> failed = status.error();
      co_return failed;
    }
    Result<std::unique_ptr<Consumer>> consumer = make_consumer(state, core);
    co_return consumer;
  }

  Awaitable<Result<std::vector<DeadLetter>>> dead_letters(std::string group,
                                                          std::size_t limit) override {
    auto state = state_;
    auto found = std::make_shared<std::vector<Inbound>>();
    std::function<void(Session&, Complete)> job = [state, group, limit, found](Session& s,
                                                                               Complete complete) {
      auto exists = group_exists(s, state->topology, group);
      if (!exists) return complete(exists.error());
      auto browsed = s.browse(state->topology.dead_queue(group), limit);
      if (!browsed) return complete(browsed.error());
      *found = std::move(browsed).value();
      complete(s.end_browse({}));
    };
    auto status = co_await on_link(state, std::move(job));
    if (!status) {
      Result<std::vector<DeadLetter>> failed = status.error();
      co_return failed;
    }
    Result<std::vector<DeadLetter>> out = to_dead_letters(*found);
    co_return out;
  }

  Awaitable<Status> replay_dead_letter(std::string group, std::uint64_t tag) override {
    auto state = state_;
    std::function<void(Session&, Complete)> job = [state, group, tag](Session& s,
                                                                      Complete complete) {
      auto exists = group_exists(s, state->topology, group);
      if (!exists) return complete(exists.error());
      const std::string dead = state->topology.dead_queue(group);
      auto count = s.declare_queue(dead, {}, true);
      if (!count) return complete(count.error());
      auto browsed = s.browse(dead, *count);
      if (!browsed) return complete(browsed.error());
      const Inbound* match = nullptr;
      for (const auto& in : *browsed) {
        if (stamp_of(in).tag == tag) match = &in;
        if (match != nullptr) break;
      }
      if (match == nullptr) {
        s.end_browse({});
        return complete(Error{Errc::not_found, "group " + quote_for_message(group) +
                                                   " has no dead letter " + std::to_string(tag)});
      }
      AmqpMessage copy = match->message;
      copy.headers[header::deliveries] = "0";
      copy.headers.erase(header::reason);
      copy.headers.erase(header::dead_at);
      const std::uint64_t delivery_tag = match->delivery_tag;
      Session* session = &s;
      // The dead letter is removed only once its copy is confirmed in the group's queue.
      s.publish("", state->topology.group_queue(group), copy,
                [session, delivery_tag, complete](Status status) {
                  if (!status) {
                    session->end_browse({});
                    return complete(std::move(status));
                  }
                  complete(session->end_browse({delivery_tag}));
                });
    };
    {
      std::lock_guard lock(state_->mutex);
      state_->acked.erase(tag);  // a new life: it is no longer "acked before"
    }
    co_return co_await on_link(state, std::move(job));
  }

  Awaitable<Result<std::vector<GroupStatus>>> groups() override {
    auto state = state_;
    auto out = std::make_shared<std::vector<GroupStatus>>();
    std::function<void(Session&, Complete)> job = [state, out](Session& s, Complete complete) {
      std::map<std::string, std::set<std::string>> groups;
      std::map<std::string, std::set<std::int64_t>> delays;
      {
        std::lock_guard lock(state->mutex);
        groups = state->groups;
        delays = state->delays;
      }
      const auto& t = state->topology;
      for (const auto& [name, topics] : groups) {
        GroupStatus g;
        g.name = name;
        g.topics.assign(topics.begin(), topics.end());
        auto ready = s.declare_queue(t.group_queue(name), {}, true);
        if (!ready) continue;  // deleted by someone else
        g.ready = *ready;
        if (auto dead = s.declare_queue(t.dead_queue(name), {}, true)) g.dead = *dead;
        for (auto ms : delays[name]) {
          auto delayed =
              s.declare_queue(t.retry_queue(name, std::chrono::milliseconds(ms)), {}, true);
          if (delayed) g.delayed += *delayed;
        }
        out->push_back(std::move(g));
      }
      complete(Ok{});
    };
    auto status = co_await on_link(state, std::move(job));
    if (!status) {
      Result<std::vector<GroupStatus>> failed = status.error();
      co_return failed;
    }
    add_in_flight(*out);
    Result<std::vector<GroupStatus>> result = std::move(*out);
    co_return result;
  }

  Awaitable<Status> ping() override {
    Status status = Ok{};
    if (!state_->link->connected()) {
      status = Error{Errc::unavailable, "RabbitMQ is unavailable: " + state_->link->last_error()};
    }
    co_return status;
  }

  void close() override {
    {
      std::lock_guard lock(state_->mutex);
      if (state_->closed) return;
      state_->closed = true;
      for (const auto& core : state_->consumers) State::wake(*core);
    }
    state_->link->stop();
  }

 private:
  std::vector<DeadLetter> to_dead_letters(const std::vector<Inbound>& found) const {
    std::vector<DeadLetter> out;
    for (const auto& in : found) {
      const Stamp stamp = stamp_of(in);
      DeadLetter d;
      d.tag = stamp.tag;
      d.message.topic = stamp.topic;
      d.attempts = stamp.deliveries;
      const auto& h = in.message.headers;
      if (auto it = h.find(header::reason); it != h.end()) d.reason = it->second;
      if (auto it = h.find(header::dead_at); it != h.end()) d.time = it->second;
      // An envelope that does not decode is shown by its reason alone.
      if (auto event = cloudevents::decode(in.message.body, state_->limits)) {
        d.message.event = std::move(event).value();
      }
      out.push_back(std::move(d));
    }
    return out;
  }

  // In flight as this process sees it: its own consumers' buffered and leased deliveries.
  void add_in_flight(std::vector<GroupStatus>& groups) const {
    std::lock_guard lock(state_->mutex);
    for (auto& g : groups) {
      for (const auto& core : state_->consumers) {
        if (core->group == g.name) g.in_flight += core->buffered.size() + core->held.size();
      }
    }
  }

  std::shared_ptr<State> state_;
};

}  // namespace

Result<std::shared_ptr<Broker>> open_rabbitmq(const BrokerOptions& options) {
  auto url = parse_amqp_url(options.url);
  if (!url) return url.error();
  auto state = std::make_shared<State>();
  state->options = options;
  state->limits.max_bytes = options.max_message_bytes;
  state->url = *url;
  state->topology.ns = url->ns;
  // The hooks hold a plain pointer: the link lives inside the state and is stopped first.
  State* raw = state.get();
  AmqpLink::Hooks hooks;
  hooks.on_connect = [raw](Session& s) { return on_connect(*raw, s); };
  hooks.on_disconnect = [raw] { on_disconnect(*raw); };
  hooks.on_tick = [raw](Session& s) { expire_leases(*raw, s); };
  state->link = std::make_unique<AmqpLink>(*url, std::move(hooks));
  // Opening is start-up: let the first connection happen (or fail) before the components'
  // first calls, which would otherwise all fail with "not connected yet".
  state->link->wait_first_attempt(std::chrono::seconds(10));
  return std::shared_ptr<Broker>(std::make_shared<RabbitBroker>(std::move(state)));
}

namespace {
[[maybe_unused]] const bool registered =
    register_adapter("amqp", [](const BrokerOptions& options, EventLoop&, obs::Telemetry*) {
      return open_rabbitmq(options);
    });
[[maybe_unused]] const bool registered_tls =
    register_adapter("amqps", [](const BrokerOptions& options, EventLoop&, obs::Telemetry*) {
      return open_rabbitmq(options);
    });
}  // namespace

}  // namespace stoa::messaging::rabbitmq
