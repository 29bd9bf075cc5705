// The embedded log's records and the CloudEvents decoder meet bytes from disk and from other
// producers: both must answer any input with a value or a clean refusal, never a crash.
#include "messaging/embedded/records.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "messaging/cloudevents.h"

namespace stoa::messaging::embedded {
namespace {

std::vector<Record> samples() {
  return {publish_record(7, "stoa.order", R"({"specversion":"1.0"})"),
          group_record("billing", 3, {"stoa.order", "stoa.payment"}),
          ack_record("billing", 7),
          replay_record("billing", 7),
          retry_record("billing", 7, 2, 1'764'115'200'000),
          dead_record("billing", 7, 5, 1'764'115'200'000, "failed 5 deliveries")};
}

TEST(EmbeddedRecords, RoundTripEveryType) {
  for (const auto& r : samples()) {
    auto back = decode(static_cast<std::uint8_t>(r.type), encode(r));
    ASSERT_TRUE(back) << static_cast<int>(r.type);
    EXPECT_EQ(back->type, r.type);
    EXPECT_EQ(back->seq, r.seq);
    EXPECT_EQ(back->name, r.name);
    EXPECT_EQ(back->envelope, r.envelope);
    EXPECT_EQ(back->topics, r.topics);
    EXPECT_EQ(back->attempts, r.attempts);
    EXPECT_EQ(back->time_ms, r.time_ms);
    EXPECT_EQ(back->reason, r.reason);
  }
}

TEST(EmbeddedRecords, TruncatedOrPaddedPayloadsAreRefused) {
  for (const auto& r : samples()) {
    const std::string payload = encode(r);
    const auto type = static_cast<std::uint8_t>(r.type);
    for (std::size_t n = 0; n < payload.size(); ++n) {
      EXPECT_FALSE(decode(type, payload.substr(0, n))) << static_cast<int>(type) << " cut at " << n;
    }
    EXPECT_FALSE(decode(type, payload + "x"));
  }
  EXPECT_FALSE(decode(0, ""));
  EXPECT_FALSE(decode(99, encode(samples()[0])));
}

TEST(EmbeddedRecords, RandomBytesNeverCrash) {
  std::mt19937 random(42);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(random() % 64, '\0');
    for (auto& c : bytes) c = static_cast<char>(random());
    (void)decode(static_cast<std::uint8_t>(random() % 8), bytes);
  }
}

TEST(CloudEventsHostile, MutatedEnvelopesDecodeOrFailCleanly) {
  Event e;
  e.id = "id-1";
  e.source = "/stoa/order";
  e.type = "stoa.order.placed.v1";
  e.subject = "order-1";
  e.time = "2026-11-26T00:00:00Z";
  e.data = R"({"amount":12,"lines":[{"sku":"a"},{"sku":"b"}]})";
  e.has_data = true;
  const std::string valid = cloudevents::encode(e).value();
  std::mt19937 random(7);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string mutated = valid;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int f = 0; f < flips; ++f) {
      mutated[random() % mutated.size()] = static_cast<char>(random());
    }
    auto decoded = cloudevents::decode(mutated);
    if (!decoded) {
      EXPECT_FALSE(decoded.error().message.empty());
      continue;
    }
    ++accepted;
    // Whatever the decoder accepts is a valid event: it encodes again.
    auto again = cloudevents::encode(*decoded);
    EXPECT_TRUE(again) << mutated << " -> " << again.error().message;
  }
  EXPECT_GT(accepted, 0);  // some mutations only change a value
}

}  // namespace
}  // namespace stoa::messaging::embedded
