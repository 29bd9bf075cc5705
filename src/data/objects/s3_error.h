#pragma once
// S3's error responses: an HTTP status and an <Error> XML document with the standard code
// (NoSuchKey, SignatureDoesNotMatch, ...) that every S3 client branches on.
#include <string>

#include "runtime/error.h"
#include "runtime/http_types.h"

namespace stoa::objects::s3 {

struct S3Error {
  int status = 500;
  std::string code;  // "NoSuchKey"
  std::string message;
};

// The common ones by name, so that call sites read like the S3 documentation.
S3Error access_denied(std::string message = "Access Denied.");
S3Error invalid_argument(std::string message);
S3Error invalid_request(std::string message);
S3Error malformed_xml(std::string message);
S3Error not_implemented(std::string what);
S3Error no_such_bucket();
S3Error no_such_key();
S3Error no_such_upload();
S3Error internal_error();
// A body over the endpoint's limit (400, as S3 answers it; SDKs branch on the code).
S3Error entity_too_large(std::uint64_t limit);

// `resource` is the request path; `request_id` goes into <RequestId> and x-amz-request-id.
http::Response error_response(const S3Error& error, const std::string& resource,
                              const std::string& request_id, bool head_request);

}  // namespace stoa::objects::s3
