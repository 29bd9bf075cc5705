#pragma once
// Presigned URLs (SigV4 query-string form), path-style: BASE/BUCKET/KEY?X-Amz-…
#include <chrono>
#include <string>

#include "runtime/error.h"

namespace stoa::objects {

struct PresignRequest {
  std::string method;    // GET or PUT (or HEAD, DELETE)
  std::string base_url;  // "http://127.0.0.1:9000": scheme and authority, no path
  std::string bucket;
  std::string key;
  std::string region;
  std::string access_key;
  std::string secret_key;
  std::chrono::seconds expires{900};  // 1 s to 7 days
  std::chrono::system_clock::time_point now;
};

// invalid_argument for an expiry outside 1 s .. 7 days or a base URL without "scheme://host".
Result<std::string> presign_url(const PresignRequest& request);

// "host[:port]" of a base URL, the value the Host header carries.
std::string url_authority(std::string_view base_url);

}  // namespace stoa::objects
