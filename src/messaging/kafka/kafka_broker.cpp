// The Kafka broker: publish through the idempotent producer, groups through GroupRuntime,
// bindings in `stoa.groups`, dead letters in `<group>.dlq`. Every call that blocks in
// librdkafka (admin, metadata, whole-topic reads) runs on the adapter's own worker pool,
// never on an event-loop thread.
#include "messaging/kafka/kafka_broker.h"

#include <boost/json.hpp>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "messaging/adapter.h"
#include "messaging/cloudevents.h"
#include "messaging/kafka/group_runtime.h"
#include "runtime/json.h"
#include "runtime/time_format.h"
#include "runtime/worker_pool.h"

namespace stoa::messaging::kafka {

namespace {

using namespace std::chrono_literals;

// How long subscribe() waits for Kafka to give the group's consumer its partitions.
constexpr auto kJoinTimeout = 30s;
constexpr std::size_t kMaxName = 240;  // Kafka allows 249; the group's ".retry" must fit

Error closed_error() {
  return Error{Errc::cancelled, "the Kafka broker is closed"};
}

// Kafka's legal topic characters, which group names need too (they prefix topics).
struct Shared {
  BrokerOptions options;
  KafkaSettings settings;
  std::shared_ptr<Producer> producer;
  std::mutex mutex;
  bool closed = false;
  std::set<std::string> known_topics;  // exist on the cluster
  std::map<std::string, std::shared_ptr<GroupRuntime>> runtimes;
};

// Blocks the calling (pool) thread until Kafka holds the message.
Status produce_blocking(Producer& producer, const Outgoing& out) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  producer.produce(out, [promise](Status status) { promise->set_value(std::move(status)); });
  return future.get();
}

Status ensure(Shared& shared, std::vector<TopicSpec> topics) {
  {
    std::lock_guard lock(shared.mutex);
    std::erase_if(topics, [&](const TopicSpec& t) { return shared.known_topics.contains(t.name); });
  }
  auto status = ensure_topics(shared.producer->handle(), shared.settings, topics);
  if (!status) return status;
  std::lock_guard lock(shared.mutex);
  for (const auto& t : topics) shared.known_topics.insert(t.name);
  return Ok{};
}

// Every group's binding, the latest record per group winning (the topic is compacted).
Result<std::map<std::string, std::vector<std::string>>> read_bindings(Shared& shared) {
  auto status = ensure(shared, {TopicSpec{std::string(kGroupsTopic), true, false}});
  if (!status) return status.error();
  std::map<std::string, std::vector<std::string>> out;
  json::Limits limits;
  limits.max_bytes = 1024 * 1024;
  status = read_topic(shared.settings, std::string(kGroupsTopic), [&](const rd_kafka_message_t& m) {
    if (m.key == nullptr || m.payload == nullptr) return;
    const std::string group(static_cast<const char*>(m.key), m.key_len);
    auto doc = json::parse(std::string_view(static_cast<const char*>(m.payload), m.len), limits);
    if (!doc || !doc->is_object()) return;  // not ours: ignored
    const auto* topics = doc->as_object().if_contains("topics");
    if (topics == nullptr || !topics->is_array()) return;
    std::vector<std::string> names;
    for (const auto& t : topics->as_array()) {
      if (t.is_string() && check_name("topic", t.as_string(), kMaxName))
        names.emplace_back(t.as_string());
    }
    out[group] = std::move(names);
  });
  if (!status) return status.error();
  return out;
}

Status declare_now(Shared& shared, const GroupSpec& spec) {
  std::vector<TopicSpec> topics;
  for (const auto& t : spec.topics) topics.push_back({t, false, false});
  topics.push_back({retry_topic(spec.name), false, false});
  topics.push_back({dlq_topic(spec.name), false, true});
  auto status = ensure(shared, topics);
  if (!status) return status;
  auto bindings = read_bindings(shared);
  if (!bindings) return bindings.error();
  std::vector<std::string> merged = (*bindings)[spec.name];
  const auto before = merged.size();
  for (const auto& t : spec.topics) {
    if (std::find(merged.begin(), merged.end(), t) == merged.end()) merged.push_back(t);
  }
  if (merged.size() == before && bindings->contains(spec.name) && before > 0) return Ok{};
  boost::json::object doc;
  doc["group"] = spec.name;
  boost::json::array names;
  for (const auto& t : merged) names.emplace_back(t);
  doc["topics"] = std::move(names);
  Outgoing out;
  out.topic = std::string(kGroupsTopic);
  out.key = spec.name;
  out.value = boost::json::serialize(doc);
  out.headers = {{header::content_type, "application/json"}};
  status = produce_blocking(*shared.producer, out);
  if (!status) return status;
  std::shared_ptr<GroupRuntime> runtime;
  {
    std::lock_guard lock(shared.mutex);
    auto it = shared.runtimes.find(spec.name);
    if (it != shared.runtimes.end()) runtime = it->second;
  }
  if (runtime) return runtime->resubscribe(merged);
  return Ok{};
}

Result<std::shared_ptr<GroupRuntime>> runtime_for(Shared& shared, const std::string& group) {
  {
    std::lock_guard lock(shared.mutex);
    if (shared.closed) return closed_error();
    auto it = shared.runtimes.find(group);
    if (it != shared.runtimes.end()) return it->second;
  }
  auto bindings = read_bindings(shared);
  if (!bindings) return bindings.error();
  auto binding = bindings->find(group);
  if (binding == bindings->end() || binding->second.empty()) {
    return Error{Errc::not_found,
                 "consumer group " + quote_for_message(group) + " is not declared"};
  }
  std::shared_ptr<GroupRuntime> runtime;
  {
    std::lock_guard lock(shared.mutex);
    if (shared.closed) return closed_error();
    auto it = shared.runtimes.find(group);
    if (it != shared.runtimes.end()) return it->second;
    auto started = GroupRuntime::start(shared.settings, shared.options, group, binding->second,
                                       shared.producer);
    if (!started) return started.error();
    runtime = std::move(started).value();
    shared.runtimes[group] = runtime;
  }
  // The first consumer waits for the group's partitions, so that receive() timeouts mean
  // "nothing to consume", not "still joining". Later ones find it joined.
  const auto deadline = std::chrono::steady_clock::now() + kJoinTimeout;
  while (!runtime->assigned() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  return runtime;
}

struct DeadScan {
  std::vector<DeadLetter> live;  // not replayed, oldest first
};

std::uint64_t dlq_tag(std::int32_t partition, std::int64_t offset) {
  return (static_cast<std::uint64_t>(partition) << 48) | static_cast<std::uint64_t>(offset);
}

struct RawDead {
  DeadLetter letter;
  std::string key;
  std::string envelope;
  std::int64_t time_ms = 0;
};

Result<std::vector<RawDead>> scan_dead(Shared& shared, const std::string& group) {
  auto status = ensure(shared, {TopicSpec{dlq_topic(group), false, true}});
  if (!status) return status.error();
  std::map<std::uint64_t, RawDead> found;
  std::set<std::uint64_t> replayed;
  cloudevents::Limits limits;
  limits.max_bytes = shared.options.max_message_bytes;
  status = read_topic(shared.settings, dlq_topic(group), [&](const rd_kafka_message_t& m) {
    if (auto marker = header_number(m, header::replayed)) {
      replayed.insert(static_cast<std::uint64_t>(*marker));
      return;
    }
    RawDead d;
    d.letter.tag = dlq_tag(m.partition, m.offset);
    d.letter.message.topic = header_text(m, header::topic);
    d.letter.reason = header_text(m, header::reason);
    d.letter.attempts = static_cast<std::uint32_t>(
        std::clamp<std::int64_t>(header_number(m, header::attempts).value_or(0), 0, 1'000'000));
    d.time_ms = header_number(m, header::time).value_or(0);
    d.letter.time =
        rfc3339_ms(std::chrono::system_clock::time_point(std::chrono::milliseconds(d.time_ms)));
    if (m.key != nullptr) d.key.assign(static_cast<const char*>(m.key), m.key_len);
    if (m.payload != nullptr) d.envelope.assign(static_cast<const char*>(m.payload), m.len);
    // An envelope that does not decode is shown by its reason alone.
    auto event = cloudevents::decode(d.envelope, limits);
    if (event) d.letter.message.event = std::move(event).value();
    found[d.letter.tag] = std::move(d);
  });
  if (!status) return status.error();
  std::vector<RawDead> out;
  for (auto& [tag, d] : found) {
    if (!replayed.contains(tag)) out.push_back(std::move(d));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const RawDead& a, const RawDead& b) { return a.time_ms < b.time_ms; });
  return out;
}

Status check_declared(Shared& shared, const std::string& group) {
  auto bindings = read_bindings(shared);
  if (!bindings) return bindings.error();
  if (!bindings->contains(group)) {
    return Error{Errc::not_found,
                 "consumer group " + quote_for_message(group) + " is not declared"};
  }
  return Ok{};
}

Status replay_now(Shared& shared, const std::string& group, std::uint64_t tag) {
  auto declared = check_declared(shared, group);
  if (!declared) return declared;
  auto dead = scan_dead(shared, group);
  if (!dead) return dead.error();
  const RawDead* hit = nullptr;
  for (const auto& d : *dead) {
    if (d.letter.tag == tag) hit = &d;
  }
  if (hit == nullptr) {
    return Error{Errc::not_found, "group " + group + " has no dead letter " + std::to_string(tag)};
  }
  // Back through the group's retry topic, due now, with its attempts reset; then a marker
  // in the dead-letter topic hides it there. (A crash between the two replays it twice:
  // at least once.)
  Outgoing retry;
  retry.topic = retry_topic(group);
  retry.key = hit->key;
  retry.value = hit->envelope;
  retry.headers = {{header::content_type, std::string(cloudevents::content_type)},
                   {header::topic, hit->letter.message.topic},
                   {header::attempts, "0"},
                   {header::due, std::to_string(unix_ms_now())}};
  auto status = produce_blocking(*shared.producer, retry);
  if (!status) return status;
  Outgoing marker;
  marker.topic = dlq_topic(group);
  marker.key = hit->key;
  marker.headers = {{header::replayed, std::to_string(tag)}};
  return produce_blocking(*shared.producer, marker);
}

// Lag from the group's committed offsets against the high watermarks, corrected by what this
// process holds (docs/messaging.md).
Result<GroupStatus> status_of(Shared& shared, const std::string& group,
                              const std::vector<std::string>& topics) {
  std::shared_ptr<GroupRuntime> runtime;
  {
    std::lock_guard lock(shared.mutex);
    auto it = shared.runtimes.find(group);
    if (it != shared.runtimes.end()) runtime = it->second;
  }
  Handle temp;
  rd_kafka_t* committed_from = nullptr;
  if (runtime) {
    committed_from = runtime->handle();
  } else {
    auto handle = make_handle(RD_KAFKA_CONSUMER, shared.settings,
                              {{"group.id", group}, {"enable.auto.commit", "false"}});
    if (!handle) return handle.error();
    temp = std::move(handle).value();
    committed_from = temp.get();
  }
  LocalView view;
  if (runtime) view = runtime->view();
  rd_kafka_t* rk = shared.producer->handle();
  std::vector<std::string> all = topics;
  all.push_back(retry_topic(group));
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(8);
  std::map<std::pair<std::string, std::int32_t>, std::pair<std::int64_t, std::int64_t>> marks;
  for (const auto& t : all) {
    auto partitions = partitions_of(rk, t);
    if (!partitions) continue;
    for (auto p : *partitions) {
      int64_t low = 0, high = 0;
      if (rd_kafka_query_watermark_offsets(rk, t.c_str(), p, &low, &high,
                                           static_cast<int>(kAdminTimeout.count())) != 0) {
        continue;
      }
      marks[{t, p}] = {low, high};
      rd_kafka_topic_partition_list_add(list, t.c_str(), p);
    }
  }
  const auto err =
      rd_kafka_committed(committed_from, list, static_cast<int>(kAdminTimeout.count()));
  GroupStatus s;
  s.name = group;
  s.topics = topics;
  std::uint64_t main_lag = 0, retry_lag = 0;
  for (int i = 0; i < list->cnt && !err; ++i) {
    const auto& e = list->elems[i];
    const std::pair<std::string, std::int32_t> key{e.topic, e.partition};
    const auto [low, high] = marks[key];
    std::int64_t done = e.offset >= 0 ? e.offset : low;
    if (auto c = view.committable.find(key); c != view.committable.end() && c->second > done) {
      done = c->second;
    }
    const auto lag = static_cast<std::uint64_t>(std::max<std::int64_t>(0, high - done));
    (key.first == retry_topic(group) ? retry_lag : main_lag) += lag;
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (err) return kafka_error(err, "committed offsets of group " + group);
  s.in_flight = view.leased;
  s.ready = (main_lag > view.main_held ? main_lag - view.main_held : 0) + view.retry_ready;
  s.delayed = retry_lag > view.retry_held ? retry_lag - view.retry_held : 0;
  auto dead = scan_dead(shared, group);
  if (!dead) return dead.error();
  s.dead = dead->size();
  return s;
}

class KafkaConsumer final : public Consumer {
 public:
  KafkaConsumer(std::shared_ptr<GroupRuntime> runtime, std::size_t prefetch)
      : runtime_(std::move(runtime)) {
    slot_.prefetch = prefetch;
  }
  ~KafkaConsumer() override { close(); }

  Awaitable<Result<Delivery>> receive(std::chrono::milliseconds wait) override {
    auto op = runtime_->receive(slot_, wait);
    co_return co_await std::move(op);
  }
  Awaitable<Status> ack(Delivery delivery) override {
    auto status = ack_now(delivery);
    co_return status;
  }
  Awaitable<Status> nack(Delivery delivery, std::string reason,
                         std::optional<std::chrono::milliseconds> delay) override {
    auto op = runtime_->nack(slot_, std::move(delivery), std::move(reason), delay);
    co_return co_await std::move(op);
  }
  Awaitable<Status> reject(Delivery delivery, std::string reason) override {
    auto op = runtime_->reject(slot_, std::move(delivery), std::move(reason));
    co_return co_await std::move(op);
  }
  void close() override { runtime_->close(slot_); }

 private:
  Status ack_now(const Delivery& delivery) {
    if (delivery.group != runtime_->group()) {
      return Error{Errc::invalid_argument, "the delivery belongs to group " +
                                               quote_for_message(delivery.group) + ", not to " +
                                               quote_for_message(runtime_->group())};
    }
    return runtime_->ack(slot_, delivery);
  }

  std::shared_ptr<GroupRuntime> runtime_;
  ConsumerSlot slot_;
};

class KafkaBroker final : public Broker {
 public:
  explicit KafkaBroker(std::shared_ptr<Shared> shared)
      : shared_(std::move(shared)), pool_(std::make_shared<WorkerPool>(2, 1024)) {}
  ~KafkaBroker() override { close(); }

  std::string_view system() const override { return "kafka"; }

  Awaitable<Status> publish(Message message) override {
    auto out = prepare(message);
    if (!out) {
      Status failed = out.error();
      co_return failed;
    }
    auto shared = shared_;
    bool known = false;
    {
      std::lock_guard lock(shared->mutex);
      known = shared->known_topics.contains(message.topic);
    }
    if (!known) {
      const std::string topic = message.topic;
      std::function<Status()> work = [shared, topic] {
        return ensure(*shared, {TopicSpec{topic, false, false}});
      };
      auto created = co_await pool_->run<Ok>(std::move(work));
      if (!created) co_return created;
    }
    auto op = produce_and_wait(*shared->producer, std::move(out).value());
    co_return co_await std::move(op);
  }

  Awaitable<Status> declare_group(GroupSpec spec) override {
    auto status = check_group(spec, kMaxName);
    if (!status) co_return status;
    auto shared = shared_;
    std::function<Status()> work = [shared, spec] { return declare_now(*shared, spec); };
    co_return co_await pool_->run<Ok>(std::move(work));
  }

  Awaitable<Result<std::unique_ptr<Consumer>>> subscribe(ConsumerOptions options) override {
    auto shared = shared_;
    const std::string group = options.group;
    std::function<Result<std::shared_ptr<GroupRuntime>>()> work = [shared, group] {
      return runtime_for(*shared, group);
    };
    auto runtime = co_await pool_->run<std::shared_ptr<GroupRuntime>>(std::move(work));
    if (!runtime) {
      Result<std::unique_ptr<Consumer>> failed = runtime.error();
      co_return failed;
    }
    const std::size_t prefetch =
        options.prefetch == 0 ? shared_->options.prefetch : options.prefetch;
    Result<std::unique_ptr<Consumer>> out =
        std::unique_ptr<Consumer>(std::make_unique<KafkaConsumer>(*runtime, prefetch));
    co_return out;
  }

  Awaitable<Result<std::vector<DeadLetter>>> dead_letters(std::string group,
                                                          std::size_t limit) override {
    auto shared = shared_;
    std::function<Result<std::vector<DeadLetter>>()> work =
        [shared, group, limit]() -> Result<std::vector<DeadLetter>> {
      auto declared = check_declared(*shared, group);
      if (!declared) return declared.error();
      auto dead = scan_dead(*shared, group);
      if (!dead) return dead.error();
      std::vector<DeadLetter> out;
      for (auto& d : *dead) {
        if (out.size() >= limit) break;
        out.push_back(std::move(d.letter));
      }
      return out;
    };
    co_return co_await pool_->run<std::vector<DeadLetter>>(std::move(work));
  }

  Awaitable<Status> replay_dead_letter(std::string group, std::uint64_t tag) override {
    auto shared = shared_;
    std::function<Status()> work = [shared, group, tag] { return replay_now(*shared, group, tag); };
    co_return co_await pool_->run<Ok>(std::move(work));
  }

  Awaitable<Result<std::vector<GroupStatus>>> groups() override {
    auto shared = shared_;
    std::function<Result<std::vector<GroupStatus>>()> work =
        [shared]() -> Result<std::vector<GroupStatus>> {
      auto bindings = read_bindings(*shared);
      if (!bindings) return bindings.error();
      std::vector<GroupStatus> out;
      for (const auto& [group, topics] : *bindings) {
        auto s = status_of(*shared, group, topics);
        if (!s) return s.error();
        out.push_back(std::move(s).value());
      }
      return out;
    };
    co_return co_await pool_->run<std::vector<GroupStatus>>(std::move(work));
  }

  Awaitable<Status> ping() override {
    auto shared = shared_;
    std::function<Status()> work = [shared]() -> Status {
      const rd_kafka_metadata_t* md = nullptr;
      const auto err = rd_kafka_metadata(shared->producer->handle(), 0, nullptr, &md, 5000);
      if (err) return kafka_error(err, "Kafka metadata");
      rd_kafka_metadata_destroy(md);
      return Ok{};
    };
    co_return co_await pool_->run<Ok>(std::move(work));
  }

  void close() override {
    std::map<std::string, std::shared_ptr<GroupRuntime>> runtimes;
    {
      std::lock_guard lock(shared_->mutex);
      if (shared_->closed) return;
      shared_->closed = true;
      runtimes.swap(shared_->runtimes);
    }
    for (auto& [name, runtime] : runtimes) runtime->stop();
    shared_->producer->close(std::chrono::milliseconds(10'000));
  }

 private:
  Result<Outgoing> prepare(const Message& message) {
    auto name = check_name("the topic", message.topic, kMaxName);
    if (!name) return name.error();
    {
      std::lock_guard lock(shared_->mutex);
      if (shared_->closed) return closed_error();
    }
    cloudevents::Limits limits;
    limits.max_bytes = shared_->options.max_message_bytes;
    auto envelope = cloudevents::encode(message.event, limits);
    if (!envelope) return envelope.error();
    Outgoing out;
    out.topic = message.topic;
    out.key = message.event.subject;  // one aggregate, one partition: its order holds
    out.value = std::move(envelope).value();
    out.headers = {{header::content_type, std::string(cloudevents::content_type)}};
    if (!message.event.traceparent.empty()) {
      out.headers.emplace_back(header::traceparent, message.event.traceparent);
    }
    return out;
  }

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<WorkerPool> pool_;
};

}  // namespace

Result<std::shared_ptr<Broker>> open_kafka(const BrokerOptions& options) {
  auto settings = parse_kafka_url(options.url);
  if (!settings) return settings.error();
  auto producer = Producer::open(*settings, options.max_message_bytes);
  if (!producer) return producer.error();
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  shared->settings = std::move(settings).value();
  shared->producer = std::shared_ptr<Producer>(std::move(producer).value());
  return std::shared_ptr<Broker>(std::make_shared<KafkaBroker>(std::move(shared)));
}

namespace {
[[maybe_unused]] const bool registered = register_adapter(
    "kafka",
    [](const BrokerOptions& options, EventLoop&, obs::Telemetry*) { return open_kafka(options); });
}  // namespace

}  // namespace stoa::messaging::kafka
