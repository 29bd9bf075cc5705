#pragma once
// AWS Signature Version 4 as S3 uses it: the one implementation that Stoa's S3 client signs
// with and the S3 endpoint verifies with (header and presigned forms, and the per-chunk
// signatures of aws-chunked bodies).
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stoa::objects::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// SHA-256 of nothing, hex: the payload hash of an empty body.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ (and '/' unless
// encode_slash) as %XX with upper-case hex.
std::string uri_encode(std::string_view bytes, bool encode_slash);
// The canonical URI of a percent-encoded request path: each segment decoded and re-encoded,
// so that clients that escape more or fewer characters still match. Empty on a malformed
// escape.
std::string canonical_uri(std::string_view raw_path);
// The canonical query string: pairs decoded, re-encoded, sorted. `skip` names a parameter to
// leave out (X-Amz-Signature of a presigned URL).
std::string canonical_query(std::string_view raw_query, std::string_view skip = {});

struct Header {
  std::string name;  // lower case
  std::string value;
};

// Views: the request's own strings, read during canonical_request() only.
struct CanonicalRequest {
  std::string_view method;
  std::string_view raw_path;   // as sent, percent-encoded
  std::string_view raw_query;  // as sent, without '?'
  std::string_view skip_query_parameter;
  std::vector<Header> headers;    // the signed ones, any order; values are trimmed here
  std::string_view payload_hash;  // hex SHA-256, UNSIGNED-PAYLOAD, STREAMING-…
};
// The canonical request's text and the SignedHeaders value (names sorted, ';'-joined).
std::pair<std::string, std::string> canonical_request(const CanonicalRequest& request);

// "20240102T030405Z" and "20240102" for a time.
std::string amz_date(std::chrono::system_clock::time_point time);
std::string scope(std::string_view date8, std::string_view region, std::string_view service = "s3");
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);
// The derived key: HMAC chain over date, region, service and "aws4_request" (raw bytes).
std::string signing_key(std::string_view secret, std::string_view date8, std::string_view region,
                        std::string_view service = "s3");
std::string signature(std::string_view signing_key, std::string_view string_to_sign);  // hex

// The signature of one aws-chunked chunk (or, with `trailer`, of the trailing headers):
// chains from the previous signature (the request's for the first chunk).
std::string chunk_signature(std::string_view signing_key, std::string_view amz_date,
                            std::string_view scope, std::string_view previous_signature,
                            std::string_view chunk_data);
std::string trailer_signature(std::string_view signing_key, std::string_view amz_date,
                              std::string_view scope, std::string_view previous_signature,
                              std::string_view canonical_trailers);

}  // namespace stoa::objects::sigv4
