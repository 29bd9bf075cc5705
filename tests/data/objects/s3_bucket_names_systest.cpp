// The bucket-name rule at the S3 endpoint, in the real binary: a bucket named "..", "." or
// ".tmp" — plainly, percent-encoded, with an encoded slash or backslash, or as overlong
// UTF-8 — is refused with InvalidBucketName by every operation, and nothing is written, read
// or deleted outside the object root or inside the store's own folders. The filesystem is
// checked after every request has been made.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "data/objects/s3_signed_requests.h"
#include "data/objects/sigv4.h"
#include "support/raw_http.h"
#include "support/stoa_process.h"

namespace stoa::objects {
namespace {

using namespace std::chrono_literals;
using test::StoaProcess;
using namespace s3test;
namespace fs = std::filesystem;

// What every refused request must answer; HEAD has no body, so only its status shows.
struct Answer {
  int status = 0;
  std::string code;
};

class S3BucketNames : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stoa.wait_ready()) << stoa.log();
    ASSERT_EQ(test::status_of(request(stoa.s3_port, "PUT", "/box")), 200) << stoa.log();
    ASSERT_EQ(test::status_of(request(stoa.s3_port, "PUT", "/box/inside", "", "kept")), 200);
  }

  Answer ask(const std::string& method, const std::string& path, const std::string& query = "",
             const std::string& body = "", std::vector<sigv4::Header> headers = {}) {
    Signed s = sign(stoa.s3_port, method, path, query, std::move(headers), to_hex(sha256(body)));
    if (method != "HEAD") {
      std::string response = send(stoa.s3_port, s.head, body);
      return {test::status_of(response), code_of(response)};
    }
    test::RawConnection connection(stoa.s3_port);
    connection.send(s.head + "Connection: close\r\n\r\n");
    auto response = connection.read_until_closed(10s);
    return {response ? test::status_of(*response) : 0, ""};
  }

  // A multipart upload into the real bucket, so that the upload operations below name an
  // upload that exists.
  std::string real_upload() {
    std::string body = test::body_of(request(stoa.s3_port, "POST", "/box/mp", "uploads"));
    auto start = body.find("<UploadId>"), end = body.find("</UploadId>");
    if (start == std::string::npos || end == std::string::npos) return "";
    return body.substr(start + 10, end - start - 10);
  }

  StoaProcess stoa{{"serve", "objects"}};
};

// Every name a request path can give for a parent directory, the object root itself, the
// store's .tmp and .uploads, or (through the parent) a real bucket under another name.
std::vector<std::string> hostile_buckets(const std::string& objects_name) {
  return {"..",
          "%2e%2e",
          "%2E%2E",
          ".%2e",
          "..%2f",
          "%2e%2e%2f",
          "..%2F" + objects_name,
          "..%2f" + objects_name + "%2fbox",
          "%2e%2e%2f" + objects_name + "%2fbox",
          "..%5c",
          "%5c..",
          "..%5c" + objects_name + "%5cbox",
          "%c0%ae%c0%ae",           // ".." as overlong UTF-8
          "%c0%ae%c0%ae%c0%afbox",  // "../box", the slash overlong too
          "%e0%80%ae%e0%80%ae",     // ".." in three-byte overlong forms
          ".",
          "%2e",
          ".tmp",
          "%2etmp",
          ".uploads",
          "%2Euploads"};
}

TEST_F(S3BucketNames, EveryOperationRefusesABadBucketAndTouchesNoFile) {
  const std::string objects_name = fs::path(stoa.objects_dir).filename().string();
  const std::string upload = real_upload();
  ASSERT_EQ(upload.size(), 32u);
  const std::string complete =
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part>"
      "</CompleteMultipartUpload>";
  const std::string delete_body =
      "<Delete><Object><Key>inside</Key></Object><Object><Key>escape-probe</Key></Object>"
      "</Delete>";

  for (const std::string& bucket : hostile_buckets(objects_name)) {
    const std::string b = "/" + bucket;
    const std::string object = b + "/escape-probe";
    const std::string existing = b + "/inside";  // "box/inside" through the parent, for some
    struct Case {
      std::string what;
      Answer answer;
    };
    std::vector<Case> cases = {
        // Objects.
        {"PutObject", ask("PUT", object, "", "escaped")},
        {"PutObject under tmp/", ask("PUT", b + "/tmp/escape-probe", "", "escaped")},
        {"GetObject", ask("GET", existing)},
        {"HeadObject", ask("HEAD", existing)},
        {"DeleteObject", ask("DELETE", existing)},
        {"CopyObject into it", ask("PUT", object, "", "", {{"x-amz-copy-source", "/box/inside"}})},
        {"CopyObject out of it",
         ask("PUT", "/box/escape-probe-copy", "", "", {{"x-amz-copy-source", existing}})},
        // Listing and the bucket itself.
        {"ListObjects", ask("GET", b)},
        {"ListObjectsV2", ask("GET", b + "/", "list-type=2")},
        {"ListMultipartUploads", ask("GET", b, "uploads")},
        {"DeleteObjects", ask("POST", b, "delete", delete_body)},
        {"CreateBucket", ask("PUT", b)},
        {"HeadBucket", ask("HEAD", b)},
        {"DeleteBucket", ask("DELETE", b)},
        {"GetBucketLocation", ask("GET", b, "location")},
        {"GetBucketVersioning", ask("GET", b, "versioning")},
        // Multipart uploads.
        {"CreateMultipartUpload", ask("POST", object, "uploads")},
        {"UploadPart", ask("PUT", object, "partNumber=1&uploadId=" + upload, "part")},
        {"ListParts", ask("GET", object, "uploadId=" + upload)},
        {"CompleteMultipartUpload", ask("POST", object, "uploadId=" + upload, complete)},
        {"AbortMultipartUpload", ask("DELETE", object, "uploadId=" + upload)},
    };
    for (const auto& [what, answer] : cases) {
      EXPECT_EQ(answer.status, 400) << what << " on bucket " << bucket;
      if (!what.starts_with("Head")) {
        EXPECT_EQ(answer.code, "InvalidBucketName") << what << " on bucket " << bucket;
      }
    }
  }

  // Nothing was written anywhere under the process's data directory: no object, copy or
  // directory named after the probe, no new entry beside the buckets, no upload begun.
  for (const auto& entry : fs::recursive_directory_iterator(stoa.data_dir)) {
    EXPECT_EQ(entry.path().filename().string().find("escape-probe"), std::string::npos)
        << entry.path();
  }
  std::set<std::string> top;
  for (const auto& entry : fs::directory_iterator(stoa.objects_dir)) {
    top.insert(entry.path().filename().string());
  }
  // "stoa" is the components' bucket, made at start-up.
  EXPECT_EQ(top, (std::set<std::string>{".tmp", ".uploads", "box", "stoa"}));
  EXPECT_TRUE(fs::is_empty(fs::path(stoa.objects_dir) / ".tmp"));
  EXPECT_FALSE(fs::exists(fs::path(stoa.data_dir) / "tmp.d"));
  // Nothing was read or deleted through another name either: the real object is intact, and
  // the real upload is still the only one.
  auto kept = request(stoa.s3_port, "GET", "/box/inside");
  EXPECT_EQ(test::status_of(kept), 200);
  EXPECT_EQ(test::body_of(kept), "kept");
  std::vector<std::string> uploads;
  for (const auto& entry : fs::directory_iterator(fs::path(stoa.objects_dir) / ".uploads")) {
    uploads.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(uploads, std::vector<std::string>{upload});
  EXPECT_EQ(test::status_of(request(stoa.s3_port, "DELETE", "/box/mp", "uploadId=" + upload)), 204);
}

// The same names as a CopyObject source into a good bucket, where the bucket is only in the
// x-amz-copy-source header (percent-decoded there): refused, nothing copied.
TEST_F(S3BucketNames, CopySourceRefusesABadBucket) {
  const std::string objects_name = fs::path(stoa.objects_dir).filename().string();
  for (const std::string& source :
       {std::string("/../inside"), std::string("/%2e%2e/inside"), std::string("/%2E%2E/inside"),
        "/..%2f" + objects_name + "%2fbox/inside", "../" + objects_name + "/box/inside",
        std::string("/%5c../inside"), std::string("/%c0%ae%c0%ae/inside"), std::string("/./inside"),
        std::string("/.tmp/inside"), std::string("/.uploads/inside")}) {
    Answer answer = ask("PUT", "/box/escape-probe-copy", "", "", {{"x-amz-copy-source", source}});
    EXPECT_EQ(answer.status, 400) << source;
    EXPECT_EQ(answer.code, "InvalidBucketName") << source;
  }
  EXPECT_EQ(code_of(request(stoa.s3_port, "GET", "/box/escape-probe-copy")), "NoSuchKey");
}

// Keys are not bucket names: "..", encoded slashes and backslashes in a key are ordinary
// bytes of the key, stored inside the bucket's directory; a key that is not valid UTF-8
// (an overlong "..") cannot be stored and is refused before anything is written.
TEST_F(S3BucketNames, KeysThatLookLikePathsStayInsideTheBucket) {
  for (std::string key :
       {"..%2fescape-probe-1", "%2e%2e%2fescape-probe-2", "%2E%2E/%2E%2E/escape-probe-3",
        "..%5cescape-probe-4", "../../escape-probe-5"}) {
    EXPECT_EQ(test::status_of(request(stoa.s3_port, "PUT", "/box/" + key, "", "v")), 200) << key;
    auto got = request(stoa.s3_port, "GET", "/box/" + key);
    EXPECT_EQ(test::body_of(got), "v") << key;
  }
  for (std::string key : {"%c0%ae%c0%ae/escape-probe-6", "%c0%ae%c0%ae%c0%afescape-probe-7",
                          "%e0%80%ae%e0%80%ae/escape-probe-8"}) {
    for (const char* method : {"PUT", "GET", "DELETE"}) {
      auto r =
          request(stoa.s3_port, method, "/box/" + key, "", method == std::string("PUT") ? "v" : "");
      EXPECT_EQ(test::status_of(r), 400) << method << " " << key;
      EXPECT_EQ(code_of(r), "InvalidArgument") << method << " " << key;
    }
    auto created = request(stoa.s3_port, "POST", "/box/" + key, "uploads");
    EXPECT_EQ(code_of(created), "InvalidArgument") << key;
  }
  const std::string inside = fs::canonical(fs::path(stoa.objects_dir) / "box").string() + "/";
  int probes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(stoa.data_dir)) {
    if (entry.path().filename().string().find("escape-probe") == std::string::npos) continue;
    ++probes;
    EXPECT_TRUE(fs::canonical(entry.path()).string().starts_with(inside)) << entry.path();
  }
  EXPECT_EQ(probes, 5);
  EXPECT_TRUE(fs::is_empty(fs::path(stoa.objects_dir) / ".uploads"));
}

}  // namespace
}  // namespace stoa::objects
