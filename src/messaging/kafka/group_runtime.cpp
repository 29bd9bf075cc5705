#include "messaging/kafka/group_runtime.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "messaging/cloudevents.h"
#include "observability/log.h"

namespace stoa::messaging::kafka {

namespace asio = boost::asio;
using Timer = asio::steady_timer;

struct GroupRuntime::Entry {
  enum class State { ready, leased, delayed, settling };
  State state = State::ready;
  std::string topic;   // where it was published (for a retry record: its stoa-topic header)
  std::string source;  // the Kafka topic it was read from
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::shared_ptr<const std::string> envelope;
  std::uint32_t attempts = 0;  // deliveries so far
  std::uint64_t lease = 0;
  ConsumerSlot* owner = nullptr;
  Clock::time_point due{};
  bool from_retry = false;
};

// Per partition: the offsets fetched and not yet settled, and the next one to fetch.
struct GroupRuntime::Track {
  std::set<std::int64_t> outstanding;
  std::int64_t next = -1;
  std::int64_t committed = -1;
  std::int64_t committable() const { return outstanding.empty() ? next : *outstanding.begin(); }
};

struct GroupRuntime::Waiter {
  std::shared_ptr<Timer> timer;
  const ConsumerSlot* owner;
};

namespace {

void wake(const std::vector<std::shared_ptr<Timer>>& timers) {
  for (const auto& t : timers) asio::post(t->get_executor(), [t] { t->cancel(); });
}

Error closed_error() {
  return Error{Errc::cancelled, "the Kafka broker is closed"};
}

Error lease_lost(const Delivery& d) {
  return Error{Errc::conflict, "delivery " + std::to_string(d.tag) +
                                   " is no longer held: its visibility timeout passed, it was "
                                   "settled, or its partition moved to another consumer"};
}

// A retry record's due time in unix ms, as a steady-clock point (bounded: a week at most).
std::chrono::steady_clock::time_point due_at(std::int64_t due_ms) {
  const auto now_ms = unix_ms_now();
  const auto wait = std::clamp<std::int64_t>(due_ms - now_ms, 0, 7LL * 24 * 3600 * 1000);
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(wait);
}

}  // namespace

GroupRuntime::GroupRuntime(const BrokerOptions& options, std::string group,
                           std::shared_ptr<Producer> producer)
    : options_(options),
      group_(std::move(group)),
      retry_topic_(retry_topic(group_)),
      producer_(std::move(producer)) {}

Result<std::shared_ptr<GroupRuntime>> GroupRuntime::start(const KafkaSettings& settings,
                                                          const BrokerOptions& options,
                                                          std::string group,
                                                          std::vector<std::string> topics,
                                                          std::shared_ptr<Producer> producer) {
  std::shared_ptr<GroupRuntime> runtime(new GroupRuntime(options, group, std::move(producer)));
  GroupRuntime* raw = runtime.get();
  auto handle =
      make_handle(RD_KAFKA_CONSUMER, settings,
                  {{"group.id", group},
                   {"enable.auto.commit", "false"},
                   {"enable.auto.offset.store", "false"},
                   {"enable.partition.eof", "false"},
                   // A group declared before anything was consumed starts at its topics' beginning.
                   {"auto.offset.reset", "earliest"},
                   {"fetch.message.max.bytes", std::to_string(options.max_message_bytes + 65536)}},
                  [raw](rd_kafka_conf_t* conf) {
                    rd_kafka_conf_set_opaque(conf, raw);
                    rd_kafka_conf_set_rebalance_cb(conf, &GroupRuntime::rebalance_cb);
                  });
  if (!handle) return handle.error();
  runtime->handle_ = std::move(handle).value();
  rd_kafka_poll_set_consumer(runtime->handle_.get());
  auto status = runtime->resubscribe(std::move(topics));
  if (!status) return status.error();
  runtime->poller_ = std::thread([raw] { raw->poll_loop(); });
  return runtime;
}

GroupRuntime::~GroupRuntime() {
  stop();
}

Status GroupRuntime::resubscribe(std::vector<std::string> topics) {
  topics.push_back(retry_topic_);
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const auto err = rd_kafka_subscribe(handle_.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) return kafka_error(err, "subscribing group " + group_);
  return Ok{};
}

void GroupRuntime::poll_loop() {
  while (!stopping_.load()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(handle_.get(), 50);
    if (m != nullptr) {
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          obs::log(obs::Level::warn, "kafka", "consumer error",
                   {{"group", group_}, {"error", rd_kafka_err2str(m->err)}});
        }
      } else {
        on_message(*m);
      }
      rd_kafka_message_destroy(m);
    }
    commit(false);
  }
}

void GroupRuntime::on_message(const rd_kafka_message_t& m) {
  auto e = std::make_unique<Entry>();
  e->source = rd_kafka_topic_name(m.rkt);
  e->partition = m.partition;
  e->offset = m.offset;
  if (m.key != nullptr) e->key.assign(static_cast<const char*>(m.key), m.key_len);
  e->envelope = std::make_shared<const std::string>(
      m.payload == nullptr ? std::string()
                           : std::string(static_cast<const char*>(m.payload), m.len));
  e->topic = e->source;
  if (e->source == retry_topic_) {
    e->from_retry = true;
    auto original = header_text(m, header::topic);
    if (!original.empty() && original.size() <= 255) e->topic = std::move(original);
    e->attempts = static_cast<std::uint32_t>(
        std::clamp<std::int64_t>(header_number(m, header::attempts).value_or(0), 0, 1'000'000));
    e->due = due_at(header_number(m, header::due).value_or(0));
    if (e->due > Clock::now()) e->state = Entry::State::delayed;
  }
  std::vector<std::shared_ptr<Timer>> woken;
  {
    std::lock_guard lock(mutex_);
    auto& track = tracks_[{e->source, e->partition}];
    if (!track) track = std::make_unique<Track>();
    track->outstanding.insert(e->offset);
    track->next = std::max(track->next, e->offset + 1);
    const auto tag = next_tag_++;
    if (e->state == Entry::State::delayed) {
      timers_.insert({e->due, tag});
    } else {
      ready_.insert(tag);
    }
    entries_[tag] = std::move(e);
    woken = take_waiters();
  }
  wake(woken);
}

void GroupRuntime::rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  (void)rk;
  static_cast<GroupRuntime*>(opaque)->on_rebalance(err, partitions);
}

void GroupRuntime::on_rebalance(rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* partitions) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(handle_.get(), partitions);
    assigned_ = true;
    return;
  }
  // Revoked: commit what is settled while still a member, then forget these partitions'
  // deliveries (their new owner gets them again from the committed offset).
  commit(true);
  std::vector<std::shared_ptr<Timer>> woken;
  {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < partitions->cnt; ++i) {
      const std::pair<std::string, std::int32_t> key{partitions->elems[i].topic,
                                                     partitions->elems[i].partition};
      tracks_.erase(key);
      for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second->source == key.first && it->second->partition == key.second) {
          unindex(it->first, *it->second);
          it = entries_.erase(it);
        } else {
          ++it;
        }
      }
    }
    woken = take_waiters();
  }
  wake(woken);
  rd_kafka_assign(handle_.get(), nullptr);
}

void GroupRuntime::commit(bool sync) {
  rd_kafka_topic_partition_list_t* list = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (!commit_due_ && !sync) return;
    commit_due_ = false;
    for (auto& [key, track] : tracks_) {
      const auto offset = track->committable();
      if (offset < 0 || offset <= track->committed) continue;
      if (list == nullptr) list = rd_kafka_topic_partition_list_new(4);
      rd_kafka_topic_partition_list_add(list, key.first.c_str(), key.second)->offset = offset;
      track->committed = offset;
    }
  }
  if (list == nullptr) return;
  const auto err = rd_kafka_commit(handle_.get(), list, sync ? 0 : 1);
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    // The deliveries after the last commit that reached Kafka are delivered again after a
    // restart or a rebalance: at least once.
    obs::log(obs::Level::warn, "kafka", "offset commit failed",
             {{"group", group_}, {"error", rd_kafka_err2str(err)}});
  }
  rd_kafka_topic_partition_list_destroy(list);
}

void GroupRuntime::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  stopping_ = true;
  if (poller_.joinable()) poller_.join();
  std::vector<std::shared_ptr<Timer>> woken;
  {
    std::lock_guard lock(mutex_);
    woken = take_waiters();
  }
  wake(woken);
  if (handle_) {
    commit(true);
    // Leaves the group (a revoke runs here, in this thread), so its partitions move now
    // rather than after the session timeout.
    rd_kafka_consumer_close(handle_.get());
  }
}

// --- state (mutex held) ------------------------------------------------------------------

void GroupRuntime::unindex(std::uint64_t tag, Entry& e) {
  switch (e.state) {
    case Entry::State::ready:
      ready_.erase(tag);
      break;
    case Entry::State::leased:
    case Entry::State::delayed:
      timers_.erase({e.due, tag});
      break;
    case Entry::State::settling:
      break;
  }
  if (e.owner != nullptr) e.owner->leased.erase(tag);
  e.owner = nullptr;
}

void GroupRuntime::make_ready(std::uint64_t tag, Entry& e) {
  unindex(tag, e);
  e.state = Entry::State::ready;
  ready_.insert(tag);
}

void GroupRuntime::settle(std::uint64_t tag) {
  auto it = entries_.find(tag);
  if (it == entries_.end()) return;
  Entry& e = *it->second;
  unindex(tag, e);
  auto track = tracks_.find({e.source, e.partition});
  if (track != tracks_.end()) track->second->outstanding.erase(e.offset);
  entries_.erase(it);
  commit_due_ = true;
}

// Due retries become ready; expired leases come back, or are returned for dead-lettering
// when they used their last attempt.
std::vector<std::uint64_t> GroupRuntime::promote_due(Clock::time_point now) {
  std::vector<std::uint64_t> exhausted;
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const auto tag = timers_.begin()->second;
    Entry& e = *entries_.at(tag);
    if (e.state == Entry::State::leased && e.attempts >= options_.max_attempts) {
      unindex(tag, e);
      e.state = Entry::State::settling;
      exhausted.push_back(tag);
    } else {
      make_ready(tag, e);
    }
  }
  return exhausted;
}

std::vector<std::shared_ptr<Timer>> GroupRuntime::take_waiters(const ConsumerSlot* only) {
  std::vector<std::shared_ptr<Timer>> out;
  std::vector<std::unique_ptr<Waiter>> keep;
  for (auto& w : waiters_) {
    if (only == nullptr || w->owner == only) {
      out.push_back(std::move(w->timer));
    } else {
      keep.push_back(std::move(w));
    }
  }
  waiters_ = std::move(keep);
  return out;
}

Outgoing GroupRuntime::dead_record(const Entry& e, const std::string& reason) const {
  Outgoing out;
  out.topic = dlq_topic(group_);
  out.key = e.key;
  out.value = *e.envelope;
  out.headers = {{header::content_type, std::string(cloudevents::content_type)},
                 {header::topic, e.topic},
                 {header::attempts, std::to_string(e.attempts)},
                 {header::reason, reason.substr(0, 4096)},
                 {header::time, std::to_string(unix_ms_now())}};
  return out;
}

void GroupRuntime::dead_letter_async(std::uint64_t tag, std::string reason) {
  Outgoing out;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(tag);
    if (it == entries_.end()) return;
    out = dead_record(*it->second, reason);
  }
  std::weak_ptr<GroupRuntime> weak = weak_from_this();
  producer_->produce(out, [weak, tag](Status status) {
    auto self = weak.lock();
    if (!self) return;
    std::vector<std::shared_ptr<Timer>> woken;
    {
      std::lock_guard lock(self->mutex_);
      auto it = self->entries_.find(tag);
      if (it == self->entries_.end()) return;
      if (status) {
        self->settle(tag);
      } else {
        self->make_ready(tag, *it->second);  // not lost: delivered again
      }
      woken = self->take_waiters();
    }
    wake(woken);
  });
}

// --- consumer side ----------------------------------------------------------------------

// One look at the group for receive(): a delivery, a timer to wait on, or the end.
GroupRuntime::Pick GroupRuntime::pick(ConsumerSlot& slot, Clock::time_point deadline,
                                      const asio::any_io_executor& executor) {
  Pick out;
  std::vector<std::uint64_t> exhausted;
  {
    std::lock_guard lock(mutex_);
    if (slot.closed || stopped_) {
      out.error = closed_error();
      return out;
    }
    const auto now = Clock::now();
    exhausted = promote_due(now);
    if (slot.leased.size() < slot.prefetch && !ready_.empty()) {
      const auto tag = *ready_.begin();
      Entry& e = *entries_.at(tag);
      unindex(tag, e);
      e.state = Entry::State::leased;
      e.attempts += 1;
      e.lease = next_lease_++;
      e.owner = &slot;
      e.due = now + options_.visibility_timeout;
      timers_.insert({e.due, tag});
      slot.leased.insert(tag);
      out.delivery.message.topic = e.topic;
      out.delivery.group = group_;
      out.delivery.tag = tag;
      out.delivery.lease = e.lease;
      out.delivery.attempt = e.attempts;
      out.envelope = e.envelope;
    } else if (exhausted.empty()) {
      if (now >= deadline) {
        out.error = Error{Errc::timeout, "no message for group " + group_};
        return out;
      }
      auto wake_at = deadline;
      if (!timers_.empty()) wake_at = std::min(wake_at, timers_.begin()->first);
      out.timer = std::make_shared<Timer>(executor);
      out.timer->expires_at(wake_at);
      waiters_.push_back(std::make_unique<Waiter>(Waiter{out.timer, &slot}));
    }
  }
  for (auto tag : exhausted) {
    dead_letter_async(tag, "not acknowledged within the visibility timeout in " +
                               std::to_string(options_.max_attempts) + " deliveries");
  }
  return out;
}

void GroupRuntime::forget_waiter(const std::shared_ptr<Timer>& timer) {
  std::lock_guard lock(mutex_);
  std::erase_if(waiters_, [&](const auto& w) { return w->timer == timer; });
}

// A delivery that is not a valid CloudEvent never reaches the caller: it is dead-lettered
// with the decoder's reason. Returns the delivery when it decodes.
std::optional<Delivery> GroupRuntime::decode_or_dead_letter(Pick& pick) {
  cloudevents::Limits limits;
  limits.max_bytes = options_.max_message_bytes;
  auto event = cloudevents::decode(*pick.envelope, limits);
  if (event) {
    pick.delivery.message.event = std::move(event).value();
    return std::move(pick.delivery);
  }
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(pick.delivery.tag);
    if (it == entries_.end() || it->second->lease != pick.delivery.lease) return std::nullopt;
    unindex(pick.delivery.tag, *it->second);
    it->second->state = Entry::State::settling;
  }
  dead_letter_async(pick.delivery.tag, event.error().message);
  return std::nullopt;
}

// GCC 12 at -O2 reports a false -Wmismatched-new-delete on this coroutine's frame (the work
// is already in plain functions above; docs/runtime.md describes the false positive).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
Awaitable<Result<Delivery>> GroupRuntime::receive(ConsumerSlot& slot,
                                                  std::chrono::milliseconds wait) {
  auto executor = co_await asio::this_coro::executor;
  const auto deadline = Clock::now() + wait;
  for (;;) {
    auto next = pick(slot, deadline, executor);
    if (next.error) {
      Result<Delivery> failed = *next.error;
      co_return failed;
    }
    if (next.timer) {
      // Woken by its deadline, or cancelled by a fetch, a settlement or a close: look again.
      auto token = asio::as_tuple(asio::use_awaitable);
      co_await next.timer->async_wait(token);
      forget_waiter(next.timer);
      continue;
    }
    if (!next.envelope) continue;
    auto delivery = decode_or_dead_letter(next);
    if (delivery) {
      Result<Delivery> out = std::move(*delivery);
      co_return out;
    }
  }
}

#pragma GCC diagnostic pop

Status GroupRuntime::ack(ConsumerSlot& slot, const Delivery& delivery) {
  std::vector<std::shared_ptr<Timer>> woken;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return closed_error();
    // An ack always counts, even on an expired lease: the work was done.
    if (!entries_.contains(delivery.tag)) return Ok{};
    const bool was_full = slot.leased.size() >= slot.prefetch;
    settle(delivery.tag);
    if (was_full) woken = take_waiters(&slot);
  }
  wake(woken);
  return Ok{};
}

Awaitable<Status> GroupRuntime::nack(ConsumerSlot& slot, Delivery delivery, std::string reason,
                                     std::optional<std::chrono::milliseconds> delay) {
  return divert(slot, std::move(delivery), false, std::move(reason), delay);
}

Awaitable<Status> GroupRuntime::reject(ConsumerSlot& slot, Delivery delivery, std::string reason) {
  return divert(slot, std::move(delivery), true, std::move(reason), std::nullopt);
}

Awaitable<Status> GroupRuntime::divert(ConsumerSlot& slot, Delivery delivery, bool reject,
                                       std::string reason,
                                       std::optional<std::chrono::milliseconds> delay) {
  auto out = begin_divert(slot, delivery, reject, reason, delay);
  if (!out) {
    Status failed = out.error();
    co_return failed;
  }
  auto produce = produce_and_wait(*producer_, std::move(out).value());
  auto status = co_await std::move(produce);
  finish_divert(delivery.tag, status);
  co_return status;
}

Result<Outgoing> GroupRuntime::begin_divert(ConsumerSlot& slot, const Delivery& delivery,
                                            bool reject, const std::string& reason,
                                            std::optional<std::chrono::milliseconds> delay) {
  std::lock_guard lock(mutex_);
  if (stopped_) return closed_error();
  auto it = entries_.find(delivery.tag);
  if (it == entries_.end() || it->second->state != Entry::State::leased ||
      it->second->lease != delivery.lease || it->second->owner != &slot) {
    return lease_lost(delivery);
  }
  Entry& e = *it->second;
  unindex(delivery.tag, e);
  e.state = Entry::State::settling;
  if (reject || e.attempts >= options_.max_attempts) return dead_record(e, reason);
  const auto wait = delay.value_or(options_.backoff(e.attempts));
  Outgoing out;
  out.topic = retry_topic_;
  out.key = e.key;
  out.value = *e.envelope;
  out.headers = {{header::content_type, std::string(cloudevents::content_type)},
                 {header::topic, e.topic},
                 {header::attempts, std::to_string(e.attempts)},
                 {header::due, std::to_string(unix_ms_now() + wait.count())}};
  return out;
}

void GroupRuntime::finish_divert(std::uint64_t tag, const Status& status) {
  std::vector<std::shared_ptr<Timer>> woken;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(tag);
    if (it != entries_.end()) {
      if (status) {
        settle(tag);
      } else {
        make_ready(tag, *it->second);  // not lost: delivered again
      }
    }
    woken = take_waiters();
  }
  wake(woken);
}

void GroupRuntime::close(ConsumerSlot& slot) {
  std::vector<std::shared_ptr<Timer>> woken;
  {
    std::lock_guard lock(mutex_);
    if (slot.closed) return;
    slot.closed = true;
    // Unprocessed deliveries go back at once; this delivery did not count as an attempt.
    const auto held = slot.leased;
    for (auto tag : held) {
      Entry& e = *entries_.at(tag);
      if (e.attempts > 0) --e.attempts;
      make_ready(tag, e);
    }
    woken = take_waiters();
  }
  wake(woken);
}

LocalView GroupRuntime::view() {
  std::lock_guard lock(mutex_);
  LocalView v;
  for (const auto& [tag, e] : entries_) {
    const bool held = e->state == Entry::State::leased || e->state == Entry::State::settling;
    if (e->state == Entry::State::leased) ++v.leased;
    if (e->from_retry) {
      if (e->state == Entry::State::ready) ++v.retry_ready;
      if (e->state != Entry::State::delayed) ++v.retry_held;
    } else if (held) {
      ++v.main_held;
    }
  }
  for (const auto& [key, track] : tracks_) v.committable[key] = track->committable();
  return v;
}

}  // namespace stoa::messaging::kafka
