#include "messaging/rabbitmq/rabbitmq_state.h"

#include <boost/asio/post.hpp>

#include "runtime/time_format.h"

namespace stoa::messaging::rabbitmq {

namespace {
constexpr std::size_t kMaxAckedTags = 4096;
}  // namespace

void State::remember_acked(std::uint64_t tag) {
  if (!acked.insert(tag).second) return;
  acked_order.push_back(tag);
  if (acked_order.size() > kMaxAckedTags) {
    acked.erase(acked_order.front());
    acked_order.pop_front();
  }
}

void State::wake(ConsumerCore& core) {
  for (auto& timer : core.waiters) {
    boost::asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  }
  core.waiters.clear();
}

std::set<std::int64_t> State::backoff_delays() const {
  std::set<std::int64_t> out;
  for (std::uint32_t a = 1; a < options.max_attempts; ++a) out.insert(options.backoff(a).count());
  return out;
}

Status declare_topology(Session& s, const Topology& t, const std::string& group,
                        const std::set<std::string>& topics, const std::set<std::int64_t>& delays) {
  const std::string queue = t.group_queue(group);
  auto declared = s.declare_queue(queue, {}, false);
  if (!declared) return declared.error();
  for (const auto& topic : topics) {
    auto status = s.bind(queue, t.exchange(), topic);
    if (!status) return status;
  }
  declared = s.declare_queue(t.dead_queue(group), {}, false);
  if (!declared) return declared.error();
  for (auto ms : delays) {
    QueueArgs args;
    args.message_ttl_ms = ms;
    args.route_to = queue;
    declared = s.declare_queue(t.retry_queue(group, std::chrono::milliseconds(ms)), args, false);
    if (!declared) return declared.error();
  }
  return Ok{};
}

void move_message(Session& s, const Held& held, const std::string& queue,
                  std::map<std::string, std::string> headers, Complete done) {
  AmqpMessage copy = held.in.message;
  for (auto& [key, value] : headers) copy.headers[key] = std::move(value);
  Session* session = &s;
  Inbound original = held.in;
  // The default exchange routes by queue name.
  s.publish("", queue, copy, [session, original, done = std::move(done)](Status status) {
    if (!status) {
      session->requeue(original);
      return done(std::move(status));
    }
    // When the original's channel is gone, RabbitMQ delivers it again: one duplicate,
    // which at-least-once allows (the consumer's inbox drops it).
    session->ack(original);
    done(Ok{});
  });
}

void retry_message(State& state, Session& s, const std::string& group, const Held& held,
                   std::chrono::milliseconds delay, Complete done) {
  std::string queue = state.topology.group_queue(group);
  if (delay.count() > 0) {
    queue = state.topology.retry_queue(group, delay);
    bool known = false;
    {
      std::lock_guard lock(state.mutex);
      known = state.delays[group].contains(delay.count());
    }
    if (!known) {
      QueueArgs args;
      args.message_ttl_ms = delay.count();
      args.route_to = state.topology.group_queue(group);
      auto declared = s.declare_queue(queue, args, false);
      if (!declared) {
        s.requeue(held.in);
        return done(declared.error());
      }
      std::lock_guard lock(state.mutex);
      state.delays[group].insert(delay.count());
    }
  }
  move_message(s, held, queue, {{header::deliveries, std::to_string(held.attempt)}},
               std::move(done));
}

void dead_letter(State& state, Session& s, const std::string& group, const Held& held,
                 std::string reason, Complete done) {
  std::map<std::string, std::string> headers{
      {header::deliveries, std::to_string(held.attempt)},
      {header::reason, std::move(reason)},
      {header::dead_at, rfc3339_ms(std::chrono::system_clock::now())}};
  move_message(s, held, state.topology.dead_queue(group), std::move(headers), std::move(done));
}

void expire_leases(State& state, Session& s) {
  std::vector<std::pair<std::string, Held>> expired;
  {
    std::lock_guard lock(state.mutex);
    const auto now = Clock::now();
    for (const auto& core : state.consumers) {
      for (auto it = core->held.begin(); it != core->held.end();) {
        if (it->second.due > now) {
          ++it;
          continue;
        }
        expired.emplace_back(core->group, std::move(it->second));
        it = core->held.erase(it);
      }
    }
  }
  for (auto& [group, held] : expired) {
    auto ignore = [](const Status&) {};  // a failed move returns it to its queue
    if (held.attempt >= state.options.max_attempts) {
      dead_letter(state, s, group, held,
                  "not acknowledged within the visibility timeout in " +
                      std::to_string(held.attempt) + " deliveries",
                  ignore);
    } else {
      retry_message(state, s, group, held, std::chrono::milliseconds(0), ignore);
    }
  }
}

Awaitable<Status> on_link(std::shared_ptr<State> state,
                          std::function<void(Session&, Complete)> job) {
  Submit submit = [state, job = std::move(job)](Complete complete) {
    auto refused = [complete](Error e) { complete(std::move(e)); };
    auto run = [job, complete](Session& s) { job(s, complete); };
    state->link->run(std::move(run), std::move(refused));
  };
  co_return co_await await_completion(std::move(submit));
}

}  // namespace stoa::messaging::rabbitmq
