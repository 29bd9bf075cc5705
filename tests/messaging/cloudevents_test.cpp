#include "messaging/cloudevents.h"

#include <gtest/gtest.h>

#include <string>

#include "messaging/event_types.h"

namespace stoa::messaging {
namespace {

Event sample() {
  Event e;
  e.id = "0190a1b2-0000-7000-8000-000000000001";
  e.source = "/stoa/order";
  e.type = "stoa.order.placed.v1";
  e.time = "2026-11-26T00:05:00.123Z";
  e.subject = "order-42";
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  e.extensions["partitionkey"] = "order-42";
  e.data = R"({"order_id":"order-42","amount":1250,"currency":"EUR"})";
  e.has_data = true;
  return e;
}

TEST(CloudEvents, JsonDataRoundTripsAsJsonInTheEnvelope) {
  auto encoded = cloudevents::encode(sample());
  ASSERT_TRUE(encoded) << encoded.error().message;
  EXPECT_NE(encoded->find(R"("data":{"order_id":"order-42")"), std::string::npos) << *encoded;
  EXPECT_NE(encoded->find(R"("specversion":"1.0")"), std::string::npos);
  auto decoded = cloudevents::decode(*encoded);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, sample());
}

TEST(CloudEvents, BinaryDataTravelsAsBase64) {
  Event e = sample();
  e.datacontenttype = "application/octet-stream";
  e.data = std::string("\x00\x01\xff\xfe bytes", 10);
  auto encoded = cloudevents::encode(e);
  ASSERT_TRUE(encoded) << encoded.error().message;
  EXPECT_NE(encoded->find("\"data_base64\""), std::string::npos);
  auto decoded = cloudevents::decode(*encoded);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->data, e.data);
}

TEST(CloudEvents, AnEventWithoutDataHasNone) {
  Event e = sample();
  e.data.clear();
  e.has_data = false;
  auto decoded = cloudevents::decode(*cloudevents::encode(e));
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(decoded->has_data);
}

TEST(CloudEvents, EncodeRefusesInvalidEvents) {
  Event missing = sample();
  missing.id.clear();
  EXPECT_EQ(cloudevents::encode(missing).error().code, Errc::invalid_argument);
  Event not_json = sample();
  not_json.data = "{not json";
  EXPECT_EQ(cloudevents::encode(not_json).error().code, Errc::invalid_argument);
  Event bad_time = sample();
  bad_time.time = "26/11/2026";
  EXPECT_EQ(cloudevents::encode(bad_time).error().code, Errc::invalid_argument);
  Event bad_ext = sample();
  bad_ext.extensions["Bad-Name"] = "x";
  EXPECT_EQ(cloudevents::encode(bad_ext).error().code, Errc::invalid_argument);
  Event control = sample();
  control.subject = "line\nbreak";
  EXPECT_EQ(cloudevents::encode(control).error().code, Errc::invalid_argument);
  Event big = sample();
  big.data = "\"" + std::string(2000, 'x') + "\"";
  EXPECT_EQ(cloudevents::encode(big, {.max_bytes = 1024}).error().code, Errc::too_large);
}

TEST(CloudEvents, DecodeIsStrictAndSaysWhy) {
  struct Case {
    const char* envelope;
    const char* reason;
  };
  const Case cases[] = {
      {"not json", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"id":"1","source":"s","type":"t"})", "specversion is missing"},
      {R"({"specversion":"0.3","id":"1","source":"s","type":"t"})", "specversion"},
      {R"({"specversion":"1.0","source":"s","type":"t"})", "id is missing"},
      {R"({"specversion":"1.0","id":1,"source":"s","type":"t"})", "not a string"},
      {R"({"specversion":"1.0","id":"1","source":"s","type":"t","data":1,"data_base64":"AA=="})",
       "both data and data_base64"},
      {R"({"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"!!"})", "base64"},
      {R"({"specversion":"1.0","id":"1","id":"2","source":"s","type":"t"})", "not JSON"},
  };
  for (const auto& c : cases) {
    auto decoded = cloudevents::decode(c.envelope);
    ASSERT_FALSE(decoded) << c.envelope;
    EXPECT_NE(decoded.error().message.find(c.reason), std::string::npos)
        << c.envelope << " -> " << decoded.error().message;
  }
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  auto nested = cloudevents::decode(
      R"({"specversion":"1.0","id":"1","source":"s","type":"t","data":)" + deep + "}");
  EXPECT_EQ(nested.error().code, Errc::too_large);
  EXPECT_EQ(cloudevents::decode(std::string(2048, ' '), {.max_bytes = 1024}).error().code,
            Errc::too_large);
}

TEST(CloudEvents, AMalformedTraceparentIsDroppedNotFatal) {
  auto decoded = cloudevents::decode(
      R"({"specversion":"1.0","id":"1","source":"s","type":"t","traceparent":"garbage",)"
      R"("tracestate":"a=b"})");
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_TRUE(decoded->traceparent.empty());
  EXPECT_TRUE(decoded->tracestate.empty());
}

TEST(CloudEvents, Rfc3339) {
  EXPECT_TRUE(cloudevents::is_rfc3339("2026-11-26T00:05:00Z"));
  EXPECT_TRUE(cloudevents::is_rfc3339("2026-11-26T00:05:00.123456+02:00"));
  EXPECT_FALSE(cloudevents::is_rfc3339("2026-13-26T00:05:00Z"));
  EXPECT_FALSE(cloudevents::is_rfc3339("2026-11-26 00:05:00Z"));
  EXPECT_FALSE(cloudevents::is_rfc3339("2026-11-26T00:05:00"));
}

TEST(EventTypes, UnknownAndInvalidEventsAreRefusedWithTheReason) {
  EventTypes types;
  types.add("stoa.order.placed.v1", EventTypes::json_object_with({"order_id", "amount"}));
  EXPECT_TRUE(types.check(sample()));
  Event unknown = sample();
  unknown.type = "stoa.order.exploded.v1";
  auto status = types.check(unknown);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("unknown event type"), std::string::npos);
  Event missing = sample();
  missing.data = R"({"order_id":"x"})";
  status = types.check(missing);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("data.amount is missing"), std::string::npos);
  EXPECT_THROW(types.add("stoa.order.placed.v1"), std::invalid_argument);
}

}  // namespace
}  // namespace stoa::messaging
