// The broker contract and the worker contract on the Kafka adapter, against librdkafka's mock
// cluster (started here, in-process, on loopback; its own tier because the contract suite is
// instantiated once per test binary), and what is particular to Kafka: offsets committed only
// after processing, the retry and dead-letter topics, and a cluster that goes away.
#include "messaging/kafka/kafka_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <mutex>

#include "messaging/broker_contract.h"
#include "workers/worker_contract.h"

namespace stoa::messaging::test {
namespace {

// One mock cluster (3 brokers) per test scratch directory, so that reopening the broker in a
// test finds the same cluster; the previous test's cluster goes when the next test starts.
struct MockCluster {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstraps;
  ~MockCluster() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

std::mutex clusters_mutex;
std::map<std::string, std::unique_ptr<MockCluster>> clusters;

MockCluster& cluster_for(const std::string& scratch) {
  std::lock_guard lock(clusters_mutex);
  auto it = clusters.find(scratch);
  if (it != clusters.end()) return *it->second;
  clusters.clear();
  auto mock = std::make_unique<MockCluster>();
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mock->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (mock->rk == nullptr) throw std::runtime_error(errstr);
  mock->cluster = rd_kafka_mock_cluster_new(mock->rk, 3);
  if (mock->cluster == nullptr) throw std::runtime_error("no mock cluster");
  mock->bootstraps = rd_kafka_mock_cluster_bootstraps(mock->cluster);
  return *clusters.emplace(scratch, std::move(mock)).first->second;
}

std::string url_for(const std::string& scratch, const std::string& extra = "") {
  // A short session timeout: a consumer that leaves hands its partitions over sooner.
  return "kafka://" + cluster_for(scratch).bootstraps +
         "?session.timeout.ms=6000&heartbeat.interval.ms=500&fetch.wait.max.ms=50" + extra;
}

Result<std::shared_ptr<Broker>> open_in(const BrokerOptions& options, const std::string& scratch) {
  auto with_url = options;
  with_url.url = url_for(scratch);
  return kafka::open_kafka(with_url);
}

INSTANTIATE_TEST_SUITE_P(Kafka, BrokerContract, ::testing::Values(BrokerBackend{"kafka", open_in}),
                         [](const auto& info) { return info.param.name; });

// The worker runtime over this backend: groups sharing a topic see only their types, and
// nothing but a failure reaches a dead-letter queue (tests/workers/worker_contract.h).
using workers::test::WorkerContract;
INSTANTIATE_TEST_SUITE_P(Kafka, WorkerContract, ::testing::Values(BrokerBackend{"kafka", open_in}),
                         [](const auto& info) { return info.param.name; });

// Kafka-only behaviour, with the contract's helpers.
class KafkaBroker : public BrokerContract {};

INSTANTIATE_TEST_SUITE_P(Kafka, KafkaBroker, ::testing::Values(BrokerBackend{"kafka", open_in}),
                         [](const auto& info) { return info.param.name; });

TEST_P(KafkaBroker, DeclaringAGroupCreatesItsTopicsAndBinding) {
  open();
  auto declared = declare("g", {"t"});
  ASSERT_TRUE(declared) << declared.error().message;
  EXPECT_EQ(status_of("g").topics, (std::vector<std::string>{"t"}));
  declared = declare("g", {"u"});
  ASSERT_TRUE(declared) << declared.error().message;
  open();  // the binding is in stoa.groups, not in memory
  EXPECT_EQ(status_of("g").topics, (std::vector<std::string>{"t", "u"}));
}

TEST_P(KafkaBroker, AnOffsetIsCommittedOnlyAfterProcessing) {
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  auto sent = message("t", 1);
  ASSERT_TRUE(publish(sent));
  {
    auto c = consumer("g");
    auto d = receive(*c);
    ASSERT_TRUE(d) << d.error().message;
    // Closed without an ack: the process's Kafka consumer leaves the group uncommitted.
  }
  open();  // another broker object: another member of the group, with nothing in memory
  {
    auto c = consumer("g");
    auto again = receive(*c, 30s);
    ASSERT_TRUE(again) << "not redelivered to the next consumer: " << again.error().message;
    EXPECT_EQ(again->message.event, sent.event);
    ASSERT_TRUE(ack(*c, *again));
  }
  open();
  auto c = consumer("g");
  auto none = receive(*c, 1s);
  EXPECT_FALSE(none) << "an acked message came back: its offset was not committed";
  EXPECT_EQ(status_of("g").lag(), 0u);
}

TEST_P(KafkaBroker, ARetryWaitsInTheRetryTopicUntilDue) {
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  ASSERT_TRUE(publish(message("t", 1)));
  auto c = consumer("g");
  auto d = receive(*c);
  ASSERT_TRUE(d);
  ASSERT_TRUE(nack(*c, *d, "later", 1500ms));
  EXPECT_FALSE(receive(*c, 300ms)) << "delivered before its retry delay";
  EXPECT_EQ(status_of("g").delayed, 1u);
  // The retry survives the process: it is in g.retry, not in memory.
  c.reset();
  open();
  auto c2 = consumer("g");
  auto again = receive(*c2, 30s);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->attempt, 2u);
  EXPECT_EQ(again->message.topic, "t");
  EXPECT_EQ(again->message.event.subject, "item-1");
  ASSERT_TRUE(ack(*c2, *again));
}

TEST_P(KafkaBroker, DeadLettersSurviveAndReplayOnce) {
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  ASSERT_TRUE(publish(message("t", 1)));
  ASSERT_TRUE(publish(message("t", 2)));
  {
    auto c = consumer("g");
    for (int i = 0; i < 2; ++i) {
      auto d = receive(*c);
      ASSERT_TRUE(d);
      ASSERT_TRUE(reject(*c, *d, "poison " + d->message.event.subject));
    }
  }
  open();
  auto dead = dead_letters("g");
  ASSERT_EQ(dead.size(), 2u);
  for (const auto& d : dead) {
    EXPECT_EQ(d.reason, "poison " + d.message.event.subject);
    EXPECT_EQ(d.message.topic, "t");
    EXPECT_EQ(d.attempts, 1u);
  }
  auto replayed = run<Status>([&]() -> Awaitable<Status> {
    co_return co_await broker_->replay_dead_letter("g", dead[0].tag);
  });
  ASSERT_TRUE(replayed) << replayed.error().message;
  auto twice = run<Status>([&]() -> Awaitable<Status> {
    co_return co_await broker_->replay_dead_letter("g", dead[0].tag);
  });
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::not_found);
  EXPECT_EQ(dead_letters("g").size(), 1u);
  auto c = consumer("g");
  auto back = receive(*c);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->message.event, dead[0].message.event);
  EXPECT_EQ(back->attempt, 1u);
}

TEST_P(KafkaBroker, PublishFailsWithinItsTimeoutWhenTheClusterIsDown) {
  auto& mock = cluster_for(scratch_.path());
  open();
  ASSERT_TRUE(declare("g", {"t"}));
  ASSERT_TRUE(publish(message("t", 1)));
  broker_->close();
  auto down = options_;
  down.url = url_for(scratch_.path(), "&message.timeout.ms=2000");
  broker_ = kafka::open_kafka(down).value();
  for (int id = 1; id <= 3; ++id) rd_kafka_mock_broker_set_down(mock.cluster, id);
  auto failed = publish(message("t", 2));  // run() gives up after 60s: a hang fails the test
  ASSERT_FALSE(failed);
  EXPECT_TRUE(failed.error().code == Errc::timeout || failed.error().code == Errc::unavailable)
      << failed.error().message;
  for (int id = 1; id <= 3; ++id) rd_kafka_mock_broker_set_up(mock.cluster, id);
  auto recovered = publish(message("t", 3));
  EXPECT_TRUE(recovered) << recovered.error().message;
}

TEST(KafkaUrl, BrokersAndOptions) {
  auto s = kafka::parse_kafka_url(
      "kafka://k1:9092,k2:9093?security.protocol=SASL_SSL&sasl.password=p%40ss&partitions=6");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->bootstrap, "k1:9092,k2:9093");
  EXPECT_EQ(s->partitions, 6);
  EXPECT_EQ(s->replication_factor, -1);
  ASSERT_EQ(s->properties.size(), 2u);
  EXPECT_EQ(s->properties[1].second, "p@ss");
  EXPECT_FALSE(kafka::parse_kafka_url("kafka://"));
  EXPECT_FALSE(kafka::parse_kafka_url("kafka://k1"));
  EXPECT_FALSE(kafka::parse_kafka_url("kafka://k1:99999"));
  EXPECT_FALSE(kafka::parse_kafka_url("kafka://k1:9092?partitions=0"));
  EXPECT_FALSE(kafka::parse_kafka_url("kafka://k1:9092?fsync=off"));
  auto owned = kafka::parse_kafka_url("kafka://k1:9092?enable.auto.commit=true");
  ASSERT_FALSE(owned);
  EXPECT_NE(owned.error().message.find("set by the adapter"), std::string::npos);
  BrokerOptions options;
  options.url = "kafka://k1:9092?sasl.password=hunter2&no.such.property=1";
  auto refused = kafka::open_kafka(options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_argument);
  EXPECT_EQ(refused.error().message.find("hunter2"), std::string::npos) << "a password leaked";
}

}  // namespace
}  // namespace stoa::messaging::test
