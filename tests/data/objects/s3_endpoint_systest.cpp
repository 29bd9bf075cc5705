// The objects component in the real binary: start-up rules for credentials, SigV4 with
// several users, aws-chunked bodies with chunk signatures (what the AWS SDKs for Java, Go and
// the CLI send; the JavaScript suite covers the unsigned-trailer form), and S3 XML errors.
// Requests are signed here with Stoa's own SigV4 code, as its S3 client will sign them.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "data/objects/s3_signed_requests.h"
#include "data/objects/sigv4.h"
#include "runtime/digest.h"
#include "runtime/hex.h"
#include "support/raw_http.h"
#include "support/stoa_process.h"

namespace stoa::objects {
namespace {

using namespace std::chrono_literals;
using test::StoaProcess;
using namespace s3test;

class S3Endpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stoa.wait_ready()) << stoa.log();
    ASSERT_EQ(test::status_of(request(stoa.s3_port, "PUT", "/box")), 200) << stoa.log();
  }
  StoaProcess stoa{{"serve", "objects"},
                   {{"STOA_S3_CREDENTIALS", "stoa:stoa-secret-key, second-user:second-secret"}}};
};

TEST_F(S3Endpoint, PrintsTheDefaultCredentialsWithAWarning) {
  EXPECT_NE(stoa.log().find(R"("level":"warn","component":"objects")"), std::string::npos);
  EXPECT_NE(stoa.log().find("stoa-secret-key"), std::string::npos);
}

TEST_F(S3Endpoint, EveryConfiguredUserCanSignAndOthersCannot) {
  EXPECT_EQ(test::status_of(request(stoa.s3_port, "PUT", "/box/k", "", "one")), 200);
  auto got = request(stoa.s3_port, "GET", "/box/k", "", "", {"second-user", "second-secret"});
  EXPECT_EQ(test::status_of(got), 200);
  EXPECT_EQ(test::body_of(got), "one");
  auto wrong = request(stoa.s3_port, "GET", "/box/k", "", "", {"second-user", "stoa-secret-key"});
  EXPECT_EQ(test::status_of(wrong), 403);
  EXPECT_EQ(code_of(wrong), "SignatureDoesNotMatch");
  EXPECT_EQ(test::header_of(wrong, "Content-Type"), "application/xml");
  EXPECT_EQ(code_of(request(stoa.s3_port, "GET", "/box/k", "", "", {"ghost", "ghost-secret"})),
            "InvalidAccessKeyId");
}

TEST_F(S3Endpoint, SignedChunkedUploadIsDecodedAndVerified) {
  std::string data(200 * 1024, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  const std::string mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  std::vector<sigv4::Header> headers = {
      {"content-encoding", "aws-chunked"},
      {"x-amz-decoded-content-length", std::to_string(data.size())}};
  Signed s = sign(stoa.s3_port, "PUT", "/box/chunked", "", headers, mode);
  auto put = send(stoa.s3_port, s.head, signed_chunks(s, data, 64 * 1024));
  ASSERT_EQ(test::status_of(put), 200) << put;
  EXPECT_EQ(test::header_of(put, "ETag"), "\"" + to_hex(md5(data)) + "\"");
  auto got = request(stoa.s3_port, "GET", "/box/chunked");
  EXPECT_EQ(test::body_of(got), data);

  // One byte changed in the second chunk: its signature no longer matches, nothing is stored.
  Signed t = sign(stoa.s3_port, "PUT", "/box/tampered", "", headers, mode);
  std::string body = signed_chunks(t, data, 64 * 1024);
  body[body.size() / 2] ^= 1;
  auto refused = send(stoa.s3_port, t.head, body);
  EXPECT_EQ(test::status_of(refused), 403) << refused;
  EXPECT_EQ(code_of(refused), "SignatureDoesNotMatch");
  EXPECT_EQ(code_of(request(stoa.s3_port, "GET", "/box/tampered")), "NoSuchKey");

  // A body shorter than x-amz-decoded-content-length says is incomplete.
  Signed u =
      sign(stoa.s3_port, "PUT", "/box/short", "",
           {{"content-encoding", "aws-chunked"}, {"x-amz-decoded-content-length", "999"}}, mode);
  EXPECT_EQ(code_of(send(stoa.s3_port, u.head, signed_chunks(u, "abc", 64))), "IncompleteBody");
}

TEST_F(S3Endpoint, PayloadHashMismatchIsRefused) {
  Signed s = sign(stoa.s3_port, "PUT", "/box/h", "", {}, to_hex(sha256("declared")));
  auto r = send(stoa.s3_port, s.head, "actual");
  EXPECT_EQ(test::status_of(r), 400);
  EXPECT_EQ(code_of(r), "XAmzContentSHA256Mismatch");
}

TEST_F(S3Endpoint, MalformedXmlAndUnsupportedOperationsGetS3Errors) {
  auto r = request(stoa.s3_port, "POST", "/box", "delete", "<Delete><Object>");
  EXPECT_EQ(test::status_of(r), 400);
  EXPECT_EQ(code_of(r), "MalformedXML");
  std::string bomb =
      R"(<!DOCTYPE d [<!ENTITY a "aaaa">]><Delete><Object><Key>&a;</Key></Object></Delete>)";
  EXPECT_EQ(code_of(request(stoa.s3_port, "POST", "/box", "delete", bomb)), "MalformedXML");
  auto acl = request(stoa.s3_port, "GET", "/box", "acl");
  EXPECT_EQ(test::status_of(acl), 501);
  EXPECT_EQ(code_of(acl), "NotImplemented");
  EXPECT_EQ(code_of(request(stoa.s3_port, "GET", "/nobucket/k")), "NoSuchBucket");
  EXPECT_EQ(code_of(request(stoa.s3_port, "GET", "/box/none")), "NoSuchKey");
  // Still alive and answering after all of that.
  EXPECT_EQ(test::status_of(request(stoa.s3_port, "GET", "/")), 200);
}

TEST_F(S3Endpoint, LargeObjectStreamsOutWithRanges) {
  // 3 MiB: above the size sent from memory, so the response is streamed in chunks.
  std::string data(3 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  ASSERT_EQ(test::status_of(request(stoa.s3_port, "PUT", "/box/large", "", data)), 200);
  test::RawConnection connection(stoa.s3_port);
  Signed s = sign(stoa.s3_port, "GET", "/box/large", "", {}, std::string(sigv4::kEmptySha256));
  auto got = send(stoa.s3_port, s.head, "");
  EXPECT_EQ(test::header_of(got, "Content-Length"), std::to_string(data.size()));
  EXPECT_TRUE(test::body_of(got) == data);
  Signed h = sign(stoa.s3_port, "HEAD", "/box/large", "", {}, std::string(sigv4::kEmptySha256));
  test::RawConnection head(stoa.s3_port);
  head.send(h.head + "Connection: close\r\n\r\n");
  auto head_response = head.read_until_closed(10s);
  ASSERT_TRUE(head_response);
  EXPECT_EQ(test::header_of(*head_response, "Content-Length"), std::to_string(data.size()));
  EXPECT_EQ(test::body_of(*head_response), "");
}

TEST(S3EndpointStartUp, RefusesDefaultCredentialsOnANonLoopbackAddress) {
  StoaProcess stoa({"serve", "objects"},
                   {{"STOA_S3_LISTEN", "0.0.0.0:" + std::to_string(test::free_port())}});
  EXPECT_EQ(stoa.wait_exit(10s), std::optional<int>(1));
  EXPECT_NE(stoa.log().find("refusing to listen on 0.0.0.0"), std::string::npos) << stoa.log();
}

TEST(S3EndpointStartUp, StoaUpServesTheEndpoint) {
  StoaProcess stoa({"up"});
  ASSERT_TRUE(stoa.wait_ready()) << stoa.log();
  auto r = request(stoa.s3_port, "GET", "/");
  EXPECT_EQ(test::status_of(r), 200) << r;
  EXPECT_NE(test::body_of(r).find("ListAllMyBucketsResult"), std::string::npos);
  // The bucket components use exists from the start.
  EXPECT_NE(test::body_of(r).find("<Name>stoa</Name>"), std::string::npos) << r;
}

}  // namespace
}  // namespace stoa::objects
