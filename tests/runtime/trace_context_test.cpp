#include "runtime/trace_context.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace stoa {
namespace {

// The example of W3C Trace Context level 1, section 3.2.
constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kSpan = "00f067aa0ba902b7";
const std::string kHeader = "00-" + std::string(kTrace) + "-" + std::string(kSpan) + "-01";

bool is_lower_hex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

TEST(Traceparent, ParsesTheSpecExample) {
  auto context = parse_traceparent(kHeader);
  ASSERT_TRUE(context);
  EXPECT_EQ(context->trace_id.hex(), kTrace);
  EXPECT_EQ(context->span_id.hex(), kSpan);  // the incoming parent's span
  EXPECT_FALSE(context->parent_span_id.valid());
  EXPECT_EQ(context->flags, 0x01);
  EXPECT_TRUE(context->sampled());
  EXPECT_TRUE(context->valid());
  EXPECT_TRUE(context->tracestate.empty());
}

TEST(Traceparent, KeepsFlags) {
  auto unsampled =
      parse_traceparent("00-" + std::string(kTrace) + "-" + std::string(kSpan) + "-00");
  ASSERT_TRUE(unsampled);
  EXPECT_EQ(unsampled->flags, 0x00);
  EXPECT_FALSE(unsampled->sampled());

  auto other = parse_traceparent("00-" + std::string(kTrace) + "-" + std::string(kSpan) + "-a3");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->flags, 0xa3);
  EXPECT_TRUE(other->sampled());
}

TEST(Traceparent, RoundTrips) {
  auto context = parse_traceparent(kHeader);
  ASSERT_TRUE(context);
  EXPECT_EQ(context->traceparent(), kHeader);

  const std::string unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
  EXPECT_EQ(parse_traceparent(unsampled)->traceparent(), unsampled);
}

TEST(Traceparent, RejectsMalformedHeaders) {
  const std::string t(kTrace);
  const std::string s(kSpan);
  for (const std::string& header : {
           std::string(),
           std::string("00"),
           "00-" + t + "-" + s,                                 // no flags
           "00-" + t + "-" + s + "-1",                          // short flags
           "00-" + t + "-" + s + "-011",                        // long flags
           "00-" + t + "-" + s + "-01-",                        // version 00 has no more
           "00-" + t + "-" + s + "-01-extra",                   //
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + s + "-01",  // uppercase trace id
           "00-" + t + "-00F067AA0BA902B7-01",                  // uppercase span id
           "00-" + t + "-" + s + "-0A",                         // uppercase flags
           "0A-" + t + "-" + s + "-01",                         // uppercase version
           "00-" + t.substr(1) + "-" + s + "-01",               // short trace id
           "00-" + t + "0-" + s + "-01",                        // long trace id
           "00-" + t + "-" + s.substr(1) + "-01",               // short span id
           "00-" + t + "-" + s + "0-01",                        // long span id
           "00-00000000000000000000000000000000-" + s + "-01",  // all-zero trace id
           "00-" + t + "-0000000000000000-01",                  // all-zero span id
           "ff-" + t + "-" + s + "-01",                         // forbidden version
           "0g-" + t + "-" + s + "-01",                         // non-hex version
           "00_" + t + "-" + s + "-01",                         // wrong separator
           "00-" + t + "_" + s + "-01",                         //
           "00-" + t + "-" + s + "_01",                         //
           " 00-" + t + "-" + s + "-01",                        // padding
           "00-" + t + "-" + s + "-01 ",                        //
           "00-4bf92f3577b34da6a3ce929d0e0e473g-" + s + "-01",  // non-hex digit
           "00-" + t + "-00f067aa0ba902bz-01",                  //
       }) {
    EXPECT_FALSE(parse_traceparent(header).has_value()) << "[" << header << "]";
  }
}

TEST(Traceparent, HigherVersionsAreForwardCompatible) {
  const std::string body = std::string(kTrace) + "-" + std::string(kSpan) + "-01";
  auto plain = parse_traceparent("cc-" + body);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->trace_id.hex(), kTrace);
  auto extended = parse_traceparent("cc-" + body + "-what-the-future-will-be-like");
  ASSERT_TRUE(extended);
  EXPECT_EQ(extended->span_id.hex(), kSpan);
  // We answer in the version we speak.
  EXPECT_EQ(extended->traceparent(), "00-" + body);

  EXPECT_FALSE(parse_traceparent("cc-" + body + "x"));  // extra data must follow a '-'
  EXPECT_FALSE(parse_traceparent("cc-" + body.substr(0, 20)));
}

TEST(TraceContext, ChildOfValidParentContinuesTheTrace) {
  auto parent = parse_traceparent(kHeader);
  ASSERT_TRUE(parent);
  parent->flags = 0x00;
  parent->tracestate = "rojo=00f067aa0ba902b7";
  const auto child = TraceContext::child_of(*parent);
  EXPECT_TRUE(child.valid());
  EXPECT_EQ(child.trace_id, parent->trace_id);
  EXPECT_EQ(child.parent_span_id, parent->span_id);
  EXPECT_NE(child.span_id, parent->span_id);
  EXPECT_TRUE(child.span_id.valid());
  EXPECT_EQ(child.flags, 0x00);
  EXPECT_EQ(child.tracestate, "rojo=00f067aa0ba902b7");

  const auto sibling = TraceContext::child_of(*parent);
  EXPECT_NE(sibling.span_id, child.span_id);

  const auto grandchild = TraceContext::child_of(child);
  EXPECT_EQ(grandchild.trace_id, parent->trace_id);
  EXPECT_EQ(grandchild.parent_span_id, child.span_id);
}

TEST(TraceContext, ChildOfInvalidParentStartsANewSampledRoot) {
  TraceContext nothing;
  nothing.flags = 0x00;
  nothing.tracestate = "should=vanish";
  const auto root = TraceContext::child_of(nothing);
  EXPECT_TRUE(root.valid());
  EXPECT_TRUE(root.trace_id.valid());
  EXPECT_TRUE(root.span_id.valid());
  EXPECT_FALSE(root.parent_span_id.valid());
  EXPECT_EQ(root.flags, 0x01);
  EXPECT_TRUE(root.tracestate.empty());

  const auto other = TraceContext::child_of(nothing);
  EXPECT_NE(other.trace_id, root.trace_id);

  auto reparsed = parse_traceparent(root.traceparent());
  ASSERT_TRUE(reparsed);
  EXPECT_EQ(reparsed->trace_id, root.trace_id);
  EXPECT_EQ(reparsed->span_id, root.span_id);
}

TEST(TraceIds, RandomIdsAreValidAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto trace = TraceId::random();
    const auto span = SpanId::random();
    ASSERT_TRUE(trace.valid());
    ASSERT_TRUE(span.valid());
    seen.insert(trace.hex());
  }
  EXPECT_EQ(seen.size(), 1000u);

  const auto id = random_hex_id();
  EXPECT_EQ(id.size(), 32u);
  EXPECT_TRUE(is_lower_hex(id));
  EXPECT_NE(id, random_hex_id());
}

TEST(TraceIds, HexRoundTripAndStrictness) {
  auto trace = TraceId::from_hex(kTrace);
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->bytes[0], 0x4b);
  EXPECT_EQ(trace->bytes[15], 0x36);
  EXPECT_EQ(trace->hex(), kTrace);
  EXPECT_FALSE(TraceId::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736"));
  EXPECT_FALSE(TraceId::from_hex(kSpan));
  EXPECT_FALSE(SpanId::from_hex(kTrace));
  EXPECT_EQ(SpanId::from_hex(kSpan)->hex(), kSpan);
  auto zero = TraceId::from_hex("00000000000000000000000000000000");
  ASSERT_TRUE(zero);  // well-formed hex, but not a valid id
  EXPECT_FALSE(zero->valid());
  EXPECT_FALSE(TraceId{}.valid());
  EXPECT_FALSE(SpanId{}.valid());
}

// ---- tracestate ------------------------------------------------------------------------

TEST(Tracestate, KeepsValidLists) {
  EXPECT_EQ(sanitize_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(sanitize_tracestate("tenant1@vendor=x,a_b-c*d/e=value with spaces"),
            "tenant1@vendor=x,a_b-c*d/e=value with spaces");
  // Optional whitespace around members and empty members are dropped.
  EXPECT_EQ(sanitize_tracestate(" rojo=1 ,\t, congo=2"), "rojo=1,congo=2");
  EXPECT_EQ(sanitize_tracestate(""), "");
}

TEST(Tracestate, RejectsInvalidMembers) {
  for (const char* header : {
           "Rojo=1",                    // uppercase key
           "1rojo=1",                   // key must start with a letter
           "rojo",                      // no '='
           "=1",                        // empty key
           "rojo=",                     // empty value
           "rojo=a=b",                  // '=' in value
           "rojo=\x01",                 // control character
           "rojo=\xc3\xa9",             // non-ASCII
           "@vendor=1",                 // empty tenant
           "tenant@=1",                 // empty system
           "tenant@Vendor=1",           // uppercase system
           "tenant@vendor123456789=1",  // system id too long
           "rojo=1,rojo=2",             // duplicate key
       }) {
    EXPECT_FALSE(sanitize_tracestate(header).has_value()) << "[" << header << "]";
  }
  EXPECT_FALSE(sanitize_tracestate("rojo=a b=c"));
}

TEST(Tracestate, BoundsMembersAndBytes) {
  std::string members;
  for (int i = 0; i < 32; ++i) {
    if (i != 0) members += ',';
    members += "k" + std::to_string(i) + "=v";
  }
  EXPECT_EQ(sanitize_tracestate(members), members);
  EXPECT_FALSE(sanitize_tracestate(members + ",k32=v"));

  std::string exactly_512 = "k=" + std::string(256, 'v');  // 258 bytes
  exactly_512 += ",j=" + std::string(251, 'w');            // + 254 = 512
  ASSERT_EQ(exactly_512.size(), 512u);
  EXPECT_EQ(sanitize_tracestate(exactly_512), exactly_512);
  EXPECT_FALSE(sanitize_tracestate(exactly_512 + " "));
  EXPECT_FALSE(sanitize_tracestate("k=" + std::string(257, 'v')));  // value over 256
}

}  // namespace
}  // namespace stoa
