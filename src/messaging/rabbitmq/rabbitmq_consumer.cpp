// A consumer of one group: RabbitMQ pushes deliveries (basic.consume with basic.qos prefetch)
// into `buffered` on the link's thread; receive() hands them out as leases; ack, nack and
// reject settle them on the link's thread.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "messaging/rabbitmq/rabbitmq_state.h"

namespace stoa::messaging::rabbitmq {

namespace {

namespace asio = boost::asio;

Error closed_error() {
  return Error{Errc::cancelled, "the RabbitMQ consumer is closed"};
}

Error lease_lost(const Delivery& d) {
  return Error{Errc::conflict, "delivery " + std::to_string(d.tag) +
                                   " is no longer held: its visibility timeout passed or the "
                                   "connection was lost, and it may have been delivered again"};
}

class RabbitConsumer final : public Consumer {
 public:
  RabbitConsumer(std::shared_ptr<State> state, std::shared_ptr<ConsumerCore> core)
      : state_(std::move(state)), core_(std::move(core)) {}
  ~RabbitConsumer() override { close(); }

  Awaitable<Result<Delivery>> receive(std::chrono::milliseconds wait) override {
    auto executor = co_await asio::this_coro::executor;
    const auto deadline = Clock::now() + wait;
    for (;;) {
      std::shared_ptr<Timer> timer;
      std::optional<Inbound> taken;
      {
        std::lock_guard lock(state_->mutex);
        if (core_->closed || state_->closed) {
          Result<Delivery> closed = closed_error();
          co_return closed;
        }
        if (!core_->buffered.empty()) {
          taken = std::move(core_->buffered.front());
          core_->buffered.pop_front();
        } else if (Clock::now() >= deadline) {
          Result<Delivery> timeout = Error{Errc::timeout, "no message for group " + core_->group};
          co_return timeout;
        } else {
          timer = std::make_shared<Timer>(executor);
          timer->expires_at(deadline);
          core_->waiters.push_back(timer);
        }
      }
      if (timer) {
        // Woken by its deadline, or cancelled by a delivery or close: look again.
        auto token = asio::as_tuple(asio::use_awaitable);
        co_await timer->async_wait(token);
        std::lock_guard lock(state_->mutex);
        std::erase(core_->waiters, timer);
        continue;
      }
      auto delivery = lease(std::move(*taken));
      if (delivery) {
        Result<Delivery> out = std::move(*delivery);
        co_return out;
      }
    }
  }

  Awaitable<Status> ack(Delivery delivery) override {
    std::optional<Held> held = take(delivery);
    if (!held) {
      // The lease is gone, but the work was done: a later copy is acked, not handed out.
      std::lock_guard lock(state_->mutex);
      state_->remember_acked(delivery.tag);
      Status ok = Ok{};
      co_return ok;
    }
    auto in = std::make_shared<Inbound>(held->in);
    auto state = state_;
    auto tag = delivery.tag;
    auto job = [in](Session& s, Complete complete) { complete(s.ack(*in)); };
    Status status = co_await on_link(state_, std::move(job));
    if (!status) {
      // RabbitMQ will deliver it again; this process will ack that copy.
      std::lock_guard lock(state->mutex);
      state->remember_acked(tag);
    }
    Status ok = Ok{};
    co_return ok;
  }

  Awaitable<Status> nack(Delivery delivery, std::string reason,
                         std::optional<std::chrono::milliseconds> delay) override {
    std::optional<Held> held = take(delivery);
    if (!held) {
      Status lost = lease_lost(delivery);
      co_return lost;
    }
    auto state = state_;
    auto shared = std::make_shared<Held>(std::move(*held));
    const std::string group = core_->group;
    std::function<void(Session&, Complete)> job;
    if (shared->attempt >= state->options.max_attempts) {
      auto why = "failed " + std::to_string(shared->attempt) + " deliveries; last: " + reason;
      job = [state, shared, group, why](Session& s, Complete complete) {
        dead_letter(*state, s, group, *shared, why, std::move(complete));
      };
    } else {
      const auto wait = delay.value_or(state->options.backoff(shared->attempt));
      job = [state, shared, group, wait](Session& s, Complete complete) {
        retry_message(*state, s, group, *shared, wait, std::move(complete));
      };
    }
    co_return co_await on_link(state, std::move(job));
  }

  Awaitable<Status> reject(Delivery delivery, std::string reason) override {
    std::optional<Held> held = take(delivery);
    if (!held) {
      Status lost = lease_lost(delivery);
      co_return lost;
    }
    auto state = state_;
    auto shared = std::make_shared<Held>(std::move(*held));
    const std::string group = core_->group;
    std::function<void(Session&, Complete)> job = [state, shared, group, reason](
                                                      Session& s, Complete complete) {
      dead_letter(*state, s, group, *shared, reason, std::move(complete));
    };
    co_return co_await on_link(state, std::move(job));
  }

  void close() override {
    std::uint16_t channel = 0;
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(state_->mutex);
      if (core_->closed) return;
      core_->closed = true;
      channel = core_->channel;
      generation = core_->generation;
      core_->buffered.clear();
      core_->held.clear();
      state_->consumers.erase(core_);
      State::wake(*core_);
    }
    if (channel == 0) return;
    // Closing the channel returns what it held, buffered and leased, to the queue.
    auto job = [channel, generation](Session& s) {
      if (s.generation() == generation) s.cancel(channel);
    };
    state_->link->run(std::move(job), [](const Error&) {});
  }

 private:
  // Makes a lease of a delivery; nullopt when it is not for the caller (a copy of a message
  // already acked, or an envelope that does not decode: dead-lettered with the reason).
  std::optional<Delivery> lease(Inbound in) {
    Held held;
    held.stamp = stamp_of(in);
    held.attempt = held.stamp.deliveries + 1;
    held.in = std::move(in);
    bool acked_before = false;
    {
      std::lock_guard lock(state_->mutex);
      acked_before = state_->acked.contains(held.stamp.tag);
    }
    auto state = state_;
    auto shared = std::make_shared<Held>(std::move(held));
    if (acked_before) {
      auto job = [shared](Session& s) { s.ack(shared->in); };
      state_->link->run(std::move(job), [](const Error&) {});
      return std::nullopt;
    }
    auto event = cloudevents::decode(shared->in.message.body, state_->limits);
    if (!event) {
      const std::string group = core_->group;
      auto job = [state, shared, group, why = event.error().message](Session& s) {
        dead_letter(*state, s, group, *shared, why, [](const Status&) {});
      };
      state_->link->run(std::move(job), [](const Error&) {});
      return std::nullopt;
    }
    Delivery d;
    d.message.topic = shared->stamp.topic;
    d.message.event = std::move(event).value();
    d.group = core_->group;
    d.tag = shared->stamp.tag;
    d.attempt = shared->attempt;
    std::lock_guard lock(state_->mutex);
    if (core_->closed) return std::nullopt;
    d.lease = state_->next_lease++;
    shared->due = Clock::now() + state_->options.visibility_timeout;
    core_->held.emplace(d.lease, std::move(*shared));
    return d;
  }

  std::optional<Held> take(const Delivery& d) {
    std::lock_guard lock(state_->mutex);
    if (d.group != core_->group) return std::nullopt;
    auto it = core_->held.find(d.lease);
    if (it == core_->held.end() || it->second.stamp.tag != d.tag) return std::nullopt;
    Held held = std::move(it->second);
    core_->held.erase(it);
    return held;
  }

  std::shared_ptr<State> state_;
  std::shared_ptr<ConsumerCore> core_;
};

}  // namespace

std::unique_ptr<Consumer> make_consumer(std::shared_ptr<State> state,
                                        std::shared_ptr<ConsumerCore> core) {
  return std::make_unique<RabbitConsumer>(std::move(state), std::move(core));
}

}  // namespace stoa::messaging::rabbitmq
