#include "messaging/embedded/embedded_broker.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "messaging/adapter.h"
#include "messaging/cloudevents.h"
#include "messaging/completion.h"
#include "messaging/embedded/log_writer.h"
#include "messaging/embedded/records.h"
#include "runtime/backend_url.h"
#include "runtime/time_format.h"

namespace stoa::messaging::embedded {

namespace {

namespace asio = boost::asio;
using Steady = std::chrono::steady_clock;
using Timer = asio::steady_timer;

constexpr std::size_t kMaxName = 255;  // group and topic names

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

struct ConsumerCore;

struct Entry {
  enum class State { ready, leased, delayed, dead };
  State state = State::ready;
  std::uint32_t attempts = 0;  // deliveries so far
  std::uint64_t lease = 0;
  ConsumerCore* owner = nullptr;  // while leased
  Steady::time_point due{};       // leased: the visibility deadline; delayed: when ready
  std::string reason;             // dead
  std::int64_t dead_ms = 0;
};

struct Waiter {
  std::shared_ptr<Timer> timer;
  const ConsumerCore* owner;
};

struct Group {
  std::string name;
  std::map<std::string, std::uint64_t, std::less<>> topics;  // topic -> first seq it gets
  std::map<std::uint64_t, Entry> entries;
  std::set<std::uint64_t> ready;
  std::set<std::pair<Steady::time_point, std::uint64_t>> timers;  // leased and delayed entries
  std::uint64_t in_flight = 0, delayed = 0, dead = 0;
  std::vector<Waiter> waiters;

  bool wants(const std::string& topic, std::uint64_t seq) const {
    auto it = topics.find(topic);
    return it != topics.end() && it->second <= seq;
  }
};

struct Stored {
  std::string topic;
  std::shared_ptr<const std::string> envelope;
  std::uint32_t pending = 0;  // groups that still hold it
};

struct ConsumerCore {
  std::string group;
  std::size_t prefetch = 0;
  std::set<std::uint64_t> leased;  // seqs this consumer holds
  bool closed = false;
};

// Everything below is guarded by `mutex`, except `writer` (thread-safe) and `next_seq`.
struct State {
  BrokerOptions options;
  cloudevents::Limits limits;
  std::mutex mutex;
  std::unique_ptr<LogWriter> writer;
  std::atomic<std::uint64_t> next_seq{1};
  std::uint64_t next_lease = 1;
  std::map<std::uint64_t, Stored> messages;
  std::map<std::string, Group, std::less<>> groups;
  bool closed = false;

  // --- state transitions, shared by replay and the live broker ---------------------------

  void unindex(Group& g, std::uint64_t seq, Entry& e) {
    switch (e.state) {
      case Entry::State::ready:
        g.ready.erase(seq);
        break;
      case Entry::State::leased:
        g.timers.erase({e.due, seq});
        --g.in_flight;
        if (e.owner != nullptr) e.owner->leased.erase(seq);
        e.owner = nullptr;
        break;
      case Entry::State::delayed:
        g.timers.erase({e.due, seq});
        --g.delayed;
        break;
      case Entry::State::dead:
        --g.dead;
        break;
    }
  }

  void make_ready(Group& g, std::uint64_t seq, Entry& e) {
    unindex(g, seq, e);
    e.state = Entry::State::ready;
    g.ready.insert(seq);
  }

  void make_delayed(Group& g, std::uint64_t seq, Entry& e, Steady::time_point due) {
    unindex(g, seq, e);
    e.state = Entry::State::delayed;
    e.due = due;
    g.timers.insert({due, seq});
    ++g.delayed;
  }

  void make_dead(Group& g, std::uint64_t seq, Entry& e, std::string reason, std::int64_t when) {
    unindex(g, seq, e);
    e.state = Entry::State::dead;
    e.reason = std::move(reason);
    e.dead_ms = when;
    ++g.dead;
  }

  void release(std::uint64_t seq) {
    auto it = messages.find(seq);
    if (it != messages.end() && --it->second.pending == 0) messages.erase(it);
  }

  void remove(Group& g, std::uint64_t seq) {
    auto it = g.entries.find(seq);
    if (it == g.entries.end()) return;
    unindex(g, seq, it->second);
    g.entries.erase(it);
    release(seq);
  }

  // A durable message reaches every group bound to its topic; returns whether any.
  bool add_message(std::uint64_t seq, std::string topic,
                   std::shared_ptr<const std::string> envelope) {
    std::uint32_t pending = 0;
    for (auto& [name, g] : groups) {
      if (!g.wants(topic, seq)) continue;
      g.entries[seq] = Entry{};
      g.ready.insert(seq);
      ++pending;
    }
    if (pending > 0) messages[seq] = Stored{std::move(topic), std::move(envelope), pending};
    return pending > 0;
  }

  void add_group(const std::string& name, const std::vector<std::string>& topics,
                 std::uint64_t start) {
    auto& g = groups[name];
    g.name = name;
    for (const auto& t : topics) g.topics.emplace(t, start);  // keeps an older binding
  }

  Status apply(const Record& r) {
    if (r.type == RecordType::publish) {
      next_seq = std::max(next_seq.load(), r.seq + 1);
      add_message(r.seq, r.name, std::make_shared<const std::string>(r.envelope));
      return Ok{};
    }
    if (r.type == RecordType::group) {
      next_seq = std::max(next_seq.load(), r.seq);
      add_group(r.name, r.topics, r.seq);
      return Ok{};
    }
    auto git = groups.find(r.name);
    if (git == groups.end()) return Ok{};  // cannot happen in a log this broker wrote
    Group& g = git->second;
    auto it = g.entries.find(r.seq);
    if (it == g.entries.end()) return Ok{};  // already acked
    Entry& e = it->second;
    const auto now_sys = unix_ms(options.clock->system_now());
    switch (r.type) {
      case RecordType::ack:
        remove(g, r.seq);
        break;
      case RecordType::retry:
        e.attempts = r.attempts;
        make_delayed(g, r.seq, e,
                     options.clock->steady_now() +
                         std::chrono::milliseconds(std::max<std::int64_t>(0, r.time_ms - now_sys)));
        break;
      case RecordType::dead:
        e.attempts = r.attempts;
        make_dead(g, r.seq, e, r.reason, r.time_ms);
        break;
      case RecordType::replay:
        e.attempts = 0;
        make_ready(g, r.seq, e);
        break;
      default:
        break;
    }
    return Ok{};
  }

  // --- live-broker helpers (mutex held) ---------------------------------------------------

  // Appends a state record; its durability is not awaited (a lost ack or retry record means
  // one more delivery, which at-least-once allows).
  void log(const Record& r) {
    std::string framed;
    SegmentLog::frame(framed, static_cast<std::uint8_t>(r.type), encode(r));
    writer->submit(std::move(framed), {});
  }

  void dead_letter(Group& g, std::uint64_t seq, Entry& e, std::string reason) {
    const auto now = unix_ms(options.clock->system_now());
    log(dead_record(g.name, seq, e.attempts, now, reason));
    make_dead(g, seq, e, std::move(reason), now);
  }

  // Moves due retries to ready and expired leases back (or to the dead letters).
  void promote_due(Group& g, Steady::time_point now) {
    while (!g.timers.empty() && g.timers.begin()->first <= now) {
      const std::uint64_t seq = g.timers.begin()->second;
      Entry& e = g.entries.at(seq);
      if (e.state == Entry::State::leased && e.attempts >= options.max_attempts) {
        dead_letter(g, seq, e,
                    "not acknowledged within the visibility timeout in " +
                        std::to_string(e.attempts) + " deliveries");
      } else {
        make_ready(g, seq, e);
      }
    }
  }

  static std::vector<std::shared_ptr<Timer>> take_waiters(Group& g,
                                                          const ConsumerCore* only = nullptr) {
    std::vector<std::shared_ptr<Timer>> out;
    auto keep = g.waiters.begin();
    for (auto& w : g.waiters) {
      if (only == nullptr || w.owner == only) {
        out.push_back(std::move(w.timer));
      } else {
        *keep++ = std::move(w);
      }
    }
    g.waiters.erase(keep, g.waiters.end());
    return out;
  }
};

// Wakes waiting receive() calls: each re-examines its group. Called without the mutex.
void wake(const std::vector<std::shared_ptr<Timer>>& timers) {
  for (const auto& t : timers) {
    asio::post(t->get_executor(), [t] { t->cancel(); });
  }
}

Error closed_error() {
  return Error{Errc::cancelled, "the embedded broker is closed"};
}

class EmbeddedConsumer final : public Consumer {
 public:
  EmbeddedConsumer(std::shared_ptr<State> state, std::string group, std::size_t prefetch)
      : state_(std::move(state)) {
    core_.group = std::move(group);
    core_.prefetch = prefetch;
  }
  ~EmbeddedConsumer() override { close(); }

  Awaitable<Result<Delivery>> receive(std::chrono::milliseconds wait) override {
    auto executor = co_await asio::this_coro::executor;
    const Clock& clock = *state_->options.clock;
    // How long the caller blocks is real time, as an Asio timer's; what is due (leases,
    // retries) is the broker's clock's.
    const auto deadline = Steady::now() + wait;
    for (;;) {
      std::shared_ptr<Timer> timer;
      std::uint64_t seq = 0, lease = 0;
      std::uint32_t attempt = 0;
      std::string topic;
      std::shared_ptr<const std::string> envelope;
      {
        std::lock_guard lock(state_->mutex);
        if (core_.closed || state_->closed) {
          Result<Delivery> closed = closed_error();
          co_return closed;
        }
        Group& g = state_->groups.at(core_.group);
        const auto now = clock.steady_now();
        state_->promote_due(g, now);
        if (core_.leased.size() < core_.prefetch && !g.ready.empty()) {
          seq = *g.ready.begin();
          Entry& e = g.entries.at(seq);
          state_->unindex(g, seq, e);
          e.state = Entry::State::leased;
          e.attempts += 1;
          e.lease = state_->next_lease++;
          e.owner = &core_;
          e.due = now + state_->options.visibility_timeout;
          g.timers.insert({e.due, seq});
          ++g.in_flight;
          core_.leased.insert(seq);
          const Stored& stored = state_->messages.at(seq);
          topic = stored.topic;
          envelope = stored.envelope;
          lease = e.lease;
          attempt = e.attempts;
        } else {
          const auto real_now = Steady::now();
          if (real_now >= deadline) {
            Result<Delivery> timeout = Error{Errc::timeout, "no message for group " + core_.group};
            co_return timeout;
          }
          // Wake for the next due entry, its distance measured on the broker's clock; with a
          // test's clock that has not moved, waking only means looking again.
          auto wake_at = deadline;
          if (!g.timers.empty()) {
            wake_at = std::min(wake_at, real_now + (g.timers.begin()->first - now));
          }
          timer = std::make_shared<Timer>(executor);
          timer->expires_at(wake_at);
          g.waiters.push_back(Waiter{timer, &core_});
        }
      }
      if (timer) {
        // Woken by its deadline, or cancelled by a publish, ack or close: look again.
        auto token = asio::as_tuple(asio::use_awaitable);
        co_await timer->async_wait(token);
        std::lock_guard lock(state_->mutex);
        auto& waiters = state_->groups.at(core_.group).waiters;
        std::erase_if(waiters, [&](const Waiter& w) { return w.timer == timer; });
        continue;
      }
      // Decoded outside the lock: it is the costly part.
      auto event = cloudevents::decode(*envelope, state_->limits);
      if (event) {
        Delivery delivery;
        delivery.message.topic = std::move(topic);
        delivery.message.event = std::move(event).value();
        delivery.group = core_.group;
        delivery.tag = seq;
        delivery.lease = lease;
        delivery.attempt = attempt;
        co_return delivery;
      }
      std::lock_guard lock(state_->mutex);
      Group& g = state_->groups.at(core_.group);
      auto it = g.entries.find(seq);
      if (it != g.entries.end() && it->second.lease == lease) {
        state_->dead_letter(g, seq, it->second, event.error().message);
      }
    }
  }

  // The coroutines below only wrap plain functions: the work takes a lock and never
  // suspends, and a coroutine that returns early from under a lock with temporaries in its
  // co_return is where GCC 12 has miscompiled (docs/runtime.md).
  Awaitable<Status> ack(Delivery delivery) override {
    auto status = ack_now(delivery);
    co_return status;
  }

  Status ack_now(const Delivery& delivery) {
    std::vector<std::shared_ptr<Timer>> woken;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->closed) return closed_error();
      Group* g = group_of(delivery);
      if (g == nullptr) return unknown_group(delivery);
      if (!g->entries.contains(delivery.tag)) return Ok{};  // acked before
      const bool was_full = core_.leased.size() >= core_.prefetch;
      state_->log(ack_record(g->name, delivery.tag));
      state_->remove(*g, delivery.tag);
      if (was_full) woken = State::take_waiters(*g, &core_);
    }
    wake(woken);
    return Ok{};
  }

  Awaitable<Status> nack(Delivery delivery, std::string reason,
                         std::optional<std::chrono::milliseconds> delay) override {
    auto status = nack_now(delivery, reason, delay);
    co_return status;
  }

  Status nack_now(const Delivery& delivery, const std::string& reason,
                  std::optional<std::chrono::milliseconds> delay) {
    std::vector<std::shared_ptr<Timer>> woken;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->closed) return closed_error();
      Group* g = group_of(delivery);
      if (g == nullptr) return unknown_group(delivery);
      Entry* e = leased(*g, delivery);
      if (e == nullptr) return lease_lost(delivery);
      if (e->attempts >= state_->options.max_attempts) {
        state_->dead_letter(
            *g, delivery.tag, *e,
            "failed " + std::to_string(e->attempts) + " deliveries; last: " + reason);
      } else {
        const auto wait = delay.value_or(state_->options.backoff(e->attempts));
        const Clock& clock = *state_->options.clock;
        const auto not_before = unix_ms(clock.system_now() + wait);
        state_->log(retry_record(g->name, delivery.tag, e->attempts, not_before));
        state_->make_delayed(*g, delivery.tag, *e, clock.steady_now() + wait);
      }
      // A retry due sooner than what the waiters sleep for, or a freed prefetch slot.
      woken = State::take_waiters(*g);
    }
    wake(woken);
    return Ok{};
  }

  Awaitable<Status> reject(Delivery delivery, std::string reason) override {
    auto status = reject_now(delivery, std::move(reason));
    co_return status;
  }

  Status reject_now(const Delivery& delivery, std::string reason) {
    std::vector<std::shared_ptr<Timer>> woken;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->closed) return closed_error();
      Group* g = group_of(delivery);
      if (g == nullptr) return unknown_group(delivery);
      Entry* e = leased(*g, delivery);
      if (e == nullptr) return lease_lost(delivery);
      state_->dead_letter(*g, delivery.tag, *e, std::move(reason));
      woken = State::take_waiters(*g, &core_);
    }
    wake(woken);
    return Ok{};
  }

  void close() override {
    std::vector<std::shared_ptr<Timer>> woken;
    {
      std::lock_guard lock(state_->mutex);
      if (core_.closed) return;
      core_.closed = true;
      auto git = state_->groups.find(core_.group);
      if (git == state_->groups.end()) return;
      Group& g = git->second;
      // Unprocessed deliveries go back at once; this delivery did not count as an attempt.
      const auto held = core_.leased;
      for (auto seq : held) {
        Entry& e = g.entries.at(seq);
        if (e.attempts > 0) --e.attempts;
        state_->make_ready(g, seq, e);
      }
      woken = State::take_waiters(g);
    }
    wake(woken);
  }

 private:
  Group* group_of(const Delivery& d) {
    if (d.group != core_.group) return nullptr;
    auto it = state_->groups.find(d.group);
    return it == state_->groups.end() ? nullptr : &it->second;
  }
  Error unknown_group(const Delivery& d) const {
    return Error{Errc::invalid_argument, "the delivery belongs to group " +
                                             quote_for_message(d.group) + ", not to " +
                                             quote_for_message(core_.group)};
  }
  // The entry when `d` is still its current lease.
  static Entry* leased(Group& g, const Delivery& d) {
    auto it = g.entries.find(d.tag);
    if (it == g.entries.end()) return nullptr;
    Entry& e = it->second;
    return e.state == Entry::State::leased && e.lease == d.lease ? &e : nullptr;
  }
  static Error lease_lost(const Delivery& d) {
    return Error{Errc::conflict, "delivery " + std::to_string(d.tag) +
                                     " is no longer held: its visibility timeout passed or it "
                                     "was acked, and it may have been delivered again"};
  }

  std::shared_ptr<State> state_;
  ConsumerCore core_;
};

class EmbeddedBroker final : public Broker {
 public:
  explicit EmbeddedBroker(std::shared_ptr<State> state) : state_(std::move(state)) {}
  ~EmbeddedBroker() override { close(); }

  std::string_view system() const override { return "embedded"; }

  Awaitable<Status> publish(Message message) override {
    auto envelope = encode_for_publish(message);
    if (!envelope) {
      Status failed = envelope.error();
      co_return failed;
    }
    auto state = state_;
    auto shared = std::make_shared<const std::string>(std::move(envelope).value());
    const std::string topic = message.topic;
    Submit submit = [state, shared, topic](std::function<void(Status)> complete) {
      const std::uint64_t seq = state->next_seq.fetch_add(1);
      const Record r = publish_record(seq, topic, *shared);
      std::string framed;
      SegmentLog::frame(framed, static_cast<std::uint8_t>(r.type), encode(r));
      state->writer->submit(
          std::move(framed),
          [state, seq, shared, topic, complete = std::move(complete)](const Status& status) {
            if (status) {
              std::vector<std::shared_ptr<Timer>> woken;
              {
                std::lock_guard lock(state->mutex);
                if (state->add_message(seq, topic, shared)) {
                  for (auto& [name, g] : state->groups) {
                    if (g.wants(topic, seq)) {
                      auto w = State::take_waiters(g);
                      woken.insert(woken.end(), w.begin(), w.end());
                    }
                  }
                }
              }
              wake(woken);
            }
            complete(status);
          });
    };
    co_return co_await await_completion(std::move(submit));
  }

  Awaitable<Status> declare_group(GroupSpec spec) override {
    auto status = check_group(spec, kMaxName);
    if (!status) co_return status;
    auto state = state_;
    auto group = std::make_shared<const GroupSpec>(spec);
    Submit submit = [state, group](std::function<void(Status)> complete) {
      const GroupSpec& spec = *group;
      std::string framed;
      {
        std::lock_guard lock(state->mutex);
        if (state->closed) return complete(closed_error());
        const std::uint64_t start = state->next_seq.load();
        state->add_group(spec.name, spec.topics, start);
        const Record r = group_record(spec.name, start, spec.topics);
        SegmentLog::frame(framed, static_cast<std::uint8_t>(r.type), encode(r));
        // Submitted under the lock: no publish with seq >= start can be logged before it.
        state->writer->submit(std::move(framed), [complete](const Status& s) { complete(s); });
      }
    };
    co_return co_await await_completion(std::move(submit));
  }

  Awaitable<Result<std::unique_ptr<Consumer>>> subscribe(ConsumerOptions options) override {
    auto consumer = subscribe_now(options);
    co_return consumer;
  }

  Result<std::unique_ptr<Consumer>> subscribe_now(const ConsumerOptions& options) {
    std::lock_guard lock(state_->mutex);
    if (state_->closed) return closed_error();
    if (!state_->groups.contains(options.group)) {
      return Error{Errc::not_found,
                   "consumer group " + quote_for_message(options.group) + " is not declared"};
    }
    const std::size_t prefetch =
        options.prefetch == 0 ? state_->options.prefetch : options.prefetch;
    return std::unique_ptr<Consumer>(
        std::make_unique<EmbeddedConsumer>(state_, options.group, prefetch));
  }

  Awaitable<Result<std::vector<DeadLetter>>> dead_letters(std::string group,
                                                          std::size_t limit) override {
    auto found = dead_letters_now(group, limit);
    co_return found;
  }

  Result<std::vector<DeadLetter>> dead_letters_now(const std::string& group, std::size_t limit) {
    std::vector<std::pair<DeadLetter, std::shared_ptr<const std::string>>> found;
    {
      std::lock_guard lock(state_->mutex);
      auto git = state_->groups.find(group);
      if (git == state_->groups.end()) return no_group(group);
      for (const auto& [seq, e] : git->second.entries) {
        if (found.size() >= limit) break;
        if (e.state != Entry::State::dead) continue;
        const Stored& stored = state_->messages.at(seq);
        DeadLetter d;
        d.tag = seq;
        d.message.topic = stored.topic;
        d.reason = e.reason;
        d.attempts = e.attempts;
        d.time =
            rfc3339_ms(std::chrono::system_clock::time_point(std::chrono::milliseconds(e.dead_ms)));
        found.emplace_back(std::move(d), stored.envelope);
      }
    }
    std::vector<DeadLetter> out;
    for (auto& [d, envelope] : found) {
      auto event = cloudevents::decode(*envelope, state_->limits);
      // An envelope that does not decode is shown by its reason alone.
      if (event) d.message.event = std::move(event).value();
      out.push_back(std::move(d));
    }
    return out;
  }

  Awaitable<Status> replay_dead_letter(std::string group, std::uint64_t tag) override {
    auto status = replay_now(group, tag);
    co_return status;
  }

  Status replay_now(const std::string& group, std::uint64_t tag) {
    std::vector<std::shared_ptr<Timer>> woken;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->closed) return closed_error();
      auto git = state_->groups.find(group);
      if (git == state_->groups.end()) return no_group(group);
      Group& g = git->second;
      auto it = g.entries.find(tag);
      if (it == g.entries.end() || it->second.state != Entry::State::dead) {
        return Error{Errc::not_found,
                     "group " + group + " has no dead letter " + std::to_string(tag)};
      }
      state_->log(replay_record(group, tag));
      it->second.attempts = 0;
      state_->make_ready(g, tag, it->second);
      woken = State::take_waiters(g);
    }
    wake(woken);
    return Ok{};
  }

  Awaitable<Result<std::vector<GroupStatus>>> groups() override {
    Result<std::vector<GroupStatus>> out = groups_now();
    co_return out;
  }

  std::vector<GroupStatus> groups_now() {
    std::lock_guard lock(state_->mutex);
    std::vector<GroupStatus> out;
    for (const auto& [name, g] : state_->groups) {
      GroupStatus s;
      s.name = name;
      for (const auto& t : g.topics) s.topics.push_back(t.first);
      s.ready = g.ready.size();
      s.in_flight = g.in_flight;
      s.delayed = g.delayed;
      s.dead = g.dead;
      out.push_back(std::move(s));
    }
    return out;
  }

  Awaitable<Status> ping() override {
    auto status = ping_now();
    co_return status;
  }

  Status ping_now() {
    {
      std::lock_guard lock(state_->mutex);
      if (state_->closed) return closed_error();
    }
    return state_->writer->health();
  }

  void close() override {
    std::vector<std::shared_ptr<Timer>> woken;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->closed) return;
      state_->closed = true;
      for (auto& [name, g] : state_->groups) {
        auto w = State::take_waiters(g);
        woken.insert(woken.end(), w.begin(), w.end());
      }
    }
    wake(woken);
    state_->writer->stop();  // writes what was submitted; releases the directory's lock
  }

 private:
  Result<std::string> encode_for_publish(const Message& message) {
    auto name = check_name("the topic", message.topic, kMaxName);
    if (!name) return name.error();
    {
      std::lock_guard lock(state_->mutex);
      if (state_->closed) return closed_error();
    }
    return cloudevents::encode(message.event, state_->limits);
  }

  static Error no_group(const std::string& group) {
    return Error{Errc::not_found,
                 "consumer group " + quote_for_message(group) + " is not declared"};
  }

  std::shared_ptr<State> state_;
};

}  // namespace

Result<std::string> embedded_dir(const std::string& url) {
  auto parsed = parse_backend_url(url, UrlForm::path);
  if (!parsed || parsed->scheme != "embedded" || parsed->path.empty()) {
    return Error{Errc::invalid_argument,
                 "broker.url " + quote_for_message(url) + " is not embedded://DIR"};
  }
  if (parsed->has_query || parsed->has_fragment) {
    return Error{Errc::invalid_argument,
                 "broker.url " + quote_for_message(url) + ": embedded://DIR takes no options"};
  }
  return parsed->path;
}

Result<std::shared_ptr<Broker>> open_embedded(const BrokerOptions& options, const std::string& dir,
                                              RecoveryReport* report) {
  auto state = std::make_shared<State>();
  state->options = options;
  state->limits.max_bytes = options.max_message_bytes;
  auto visit = [&](std::uint8_t type, std::string_view payload) -> Status {
    auto record = decode(type, payload);
    // A record with a valid checksum that does not parse was written by another version.
    if (!record) {
      return Error{Errc::io, "the embedded broker log in " + dir +
                                 " holds a record of unknown type " + std::to_string(type) +
                                 " (written by a newer Stoa?)"};
    }
    return state->apply(*record);
  };
  auto log = SegmentLog::open(dir, options.segment_bytes, visit, report);
  if (!log) return log.error();
  state->writer = std::make_unique<LogWriter>(std::move(log).value());
  return std::shared_ptr<Broker>(std::make_shared<EmbeddedBroker>(std::move(state)));
}

namespace {
[[maybe_unused]] const bool registered =
    register_adapter("embedded",
                     [](const BrokerOptions& options, EventLoop&,
                        obs::Telemetry*) -> Result<std::shared_ptr<Broker>> {
                       auto dir = embedded_dir(options.url);
                       if (!dir) return dir.error();
                       return open_embedded(options, *dir);
                     });
}  // namespace

}  // namespace stoa::messaging::embedded
