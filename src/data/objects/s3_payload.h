#pragma once
// The body of a PutObject or UploadPart as the store should receive it: the declared
// x-amz-content-sha256 checked, an aws-chunked body decoded (chunk signatures and the signed
// trailer verified), and a flexible checksum (x-amz-checksum-crc32, -crc32c, -crc64nvme,
// -sha1, -sha256; in a header or a trailer) compared at the end. Each check is a ByteSource
// wrapping the previous one, so a body is checked as it streams; a failed check fails the
// last read, so the store publishes nothing, and leaves the S3 error in `failure`.
#include <memory>
#include <optional>
#include <variant>

#include "data/objects/byte_source.h"
#include "data/objects/s3_auth.h"
#include "data/objects/s3_error.h"
#include "runtime/http_types.h"

namespace stoa::objects::s3 {

using Failure = std::shared_ptr<std::optional<S3Error>>;

// The raw body of `request`: its body_stream when the route streams (an error of the stream
// fails the read and leaves the S3 error in `failure`: EntityTooLarge, RequestTimeout,
// IncompleteBody), otherwise its in-memory body. `request` must outlive the result.
std::unique_ptr<ByteSource> request_body(http::Request& request, const Failure& failure);

// `base` yields the raw request body and must outlive the result. An S3Error when the
// headers already say the body cannot be accepted (unknown payload hash, bad checksum value).
std::variant<std::unique_ptr<ByteSource>, S3Error> payload_source(const http::Request& request,
                                                                  const Authenticated& auth,
                                                                  ByteSource& base,
                                                                  const Failure& failure);

}  // namespace stoa::objects::s3
