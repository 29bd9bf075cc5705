#include "runtime/http_wire.h"

#include <gtest/gtest.h>

namespace stoa::http {
namespace {

TEST(ResponseHead, WritesStatusHeadersFramingAndBlankLine) {
  Headers headers;
  headers.add("Content-Type", "application/json");
  headers.add("Content-Length", "999");  // framing from a handler is ignored
  std::string out;
  ResponseHead head;
  head.status = 201;
  head.headers = &headers;
  head.date = "Wed, 25 Nov 2026 21:04:35 GMT";
  head.request_id = "abc";
  head.content_length = 15;
  EXPECT_EQ(append_response_head(out, head), 0u);
  EXPECT_EQ(out,
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
            "Date: Wed, 25 Nov 2026 21:04:35 GMT\r\nX-Request-Id: abc\r\n"
            "Content-Length: 15\r\n\r\n");
}

TEST(ResponseHead, ConnectionHeaderFollowsKeepAliveAndVersion) {
  std::string closing;
  ResponseHead head;
  head.keep_alive = false;
  append_response_head(closing, head);
  EXPECT_NE(closing.find("Connection: close\r\n"), std::string::npos);

  std::string http10;
  head.keep_alive = true;
  head.request_version = 10;
  append_response_head(http10, head);
  EXPECT_NE(http10.find("Connection: keep-alive\r\n"), std::string::npos);

  std::string http11;
  head.request_version = 11;
  append_response_head(http11, head);
  EXPECT_EQ(http11.find("Connection:"), std::string::npos);
  EXPECT_EQ(http11.find("Content-Length"), std::string::npos);  // none given: 204-style
}

TEST(ResponseHead, FieldsThatCouldSplitTheResponseAreDropped) {
  Headers headers;
  headers.add("X-Echo", "a\r\nSet-Cookie: stolen=1");
  headers.add("Bad Name", "v");
  headers.add("X-Fine", "ok");
  std::string out;
  ResponseHead head;
  head.headers = &headers;
  EXPECT_EQ(append_response_head(out, head), 2u);
  EXPECT_EQ(out.find("Set-Cookie"), std::string::npos);
  EXPECT_EQ(out.find("Bad Name"), std::string::npos);
  EXPECT_NE(out.find("X-Fine: ok\r\n"), std::string::npos);
}

}  // namespace
}  // namespace stoa::http
