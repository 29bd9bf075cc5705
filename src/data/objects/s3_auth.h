#pragma once
// Verifies a request's SigV4 signature (Authorization header or presigned query string)
// against the endpoint's access keys. What it returns lets the payload reader check the
// body: its declared SHA-256, or the chained signatures of an aws-chunked body.
#include <chrono>
#include <map>
#include <string>
#include <variant>

#include "data/objects/s3_error.h"
#include "runtime/http_types.h"

namespace stoa::objects::s3 {

struct Credentials {
  std::map<std::string, std::string, std::less<>> secrets;  // access key -> secret key
  std::string region = "us-east-1";
  std::chrono::seconds max_skew{15 * 60};
};

struct Authenticated {
  std::string access_key;
  std::string signing_key;   // derived, for chunk signatures
  std::string amz_date;      // 20240102T030405Z
  std::string scope;         // 20240102/us-east-1/s3/aws4_request
  std::string signature;     // the request's, seed of chunk signatures
  std::string payload_hash;  // x-amz-content-sha256 (UNSIGNED-PAYLOAD when presigned)
  bool presigned = false;
};

// "KEY:SECRET" strings from [s3] credentials; invalid_argument names the bad entry.
Result<Credentials> parse_credentials(const std::vector<std::string>& entries, std::string region);

std::variant<Authenticated, S3Error> authenticate(const http::Request& request,
                                                  const Credentials& credentials,
                                                  std::chrono::system_clock::time_point now);

}  // namespace stoa::objects::s3
