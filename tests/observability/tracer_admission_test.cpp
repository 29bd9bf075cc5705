#include <gtest/gtest.h>

#include "observability/tracer.h"

namespace stoa::obs {
namespace {

TEST(TracerAdmission, BufferOnlyTracesAreRateLimitedPerThread) {
  TracerOptions options;
  options.keep_per_second = 5;
  Tracer tracer(options);
  int admitted = 0;
  for (int i = 0; i < 1000; ++i) admitted += tracer.admit(TraceContext{}) ? 1 : 0;
  // A burst of 1000 in far less than a second: the bucket's 5, plus what refilled meanwhile.
  EXPECT_GE(admitted, 1);
  EXPECT_LE(admitted, 10);
}

TEST(TracerAdmission, EachTracerHasItsOwnBucket) {
  TracerOptions options;
  options.keep_per_second = 3;
  Tracer drained(options);
  while (drained.admit(TraceContext{})) {
  }
  // Another tracer on the same thread is not limited by the first one's spending.
  Tracer fresh(options);
  EXPECT_TRUE(fresh.admit(TraceContext{}));
}

TEST(TracerAdmission, ZeroRateRecordsNothingUnlessExported) {
  TracerOptions options;
  options.keep_per_second = 0;
  Tracer tracer(options);
  EXPECT_FALSE(tracer.admit(TraceContext{}));
}

TEST(TracerAdmission, SampledTracesAreAllRecordedWhileExporting) {
  TracerOptions options;
  options.keep_per_second = 0;
  options.otlp_endpoint = "http://127.0.0.1:9/v1/traces";  // nothing listens: spans drop
  Tracer tracer(options);
  TraceContext sampled = TraceContext::child_of(TraceContext{});
  TraceContext unsampled = sampled;
  unsampled.flags = 0;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(tracer.admit(sampled));
  EXPECT_FALSE(tracer.admit(unsampled));
  tracer.shutdown(std::chrono::milliseconds(100));
}

TEST(TracerAdmission, SpansOfANonRecordingTraceAreNotRecorded) {
  Tracer tracer(TracerOptions{});
  TraceContext parent = TraceContext::child_of(TraceContext{});
  parent.recording = false;
  { Span span(tracer, parent, "skipped"); }
  EXPECT_FALSE(tracer.trace_json(parent.trace_id.hex()).has_value());
  parent.recording = true;
  { Span span(tracer, parent, "kept"); }
  EXPECT_TRUE(tracer.trace_json(parent.trace_id.hex()).has_value());
}

}  // namespace
}  // namespace stoa::obs
