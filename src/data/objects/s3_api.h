#pragma once
// The S3 API over the filesystem store: what the objects component serves on [s3] listen.
// One handler takes every request (path-style addressing: /BUCKET/KEY), authenticates it
// (SigV4, header or presigned), and runs the operation. Errors are S3 XML documents.
// Operations are split by subject: s3_api.cpp (dispatch, service, buckets, listing),
// s3_object_api.cpp (objects), s3_multipart_api.cpp (multipart uploads).
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>

#include "data/objects/file_store.h"
#include "data/objects/s3_auth.h"
#include "data/objects/s3_error.h"
#include "runtime/async.h"
#include "runtime/http_types.h"

namespace stoa::objects::s3 {

inline constexpr std::string_view kXmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

struct ApiOptions {
  Credentials credentials;
  std::uint64_t min_part_bytes = 5 * 1024 * 1024;   // every part but the last
  std::size_t inline_response_bytes = 1024 * 1024;  // GETs up to this are sent from memory
  // The largest PutObject or UploadPart body ([s3] max_body_bytes; S3 allows 5 GiB). Bodies
  // stream to disk, so this bounds disk use, not memory.
  std::uint64_t max_object_bytes = 5ULL * 1024 * 1024 * 1024;
};

// What the HTTP route must allow for a PutObject/UploadPart body of `max_object_bytes`:
// aws-chunked framing (chunk sizes, signatures, trailer) adds to the decoded bytes.
std::uint64_t route_body_limit(std::uint64_t max_object_bytes);
// The largest request body of the other operations (DeleteObjects and
// CompleteMultipartUpload's XML), read whole before the handler runs.
inline constexpr std::uint64_t kMaxXmlBodyBytes = 4 * 1024 * 1024;

class S3Api {
 public:
  S3Api(std::shared_ptr<FileStore> store, ApiOptions options);
  Awaitable<http::Response> handle(http::Request& request);

 private:
  using Reply = std::variant<http::Response, S3Error>;
  struct Call {
    http::Request& request;
    std::string bucket;  // "" for the service (GET /)
    std::string key;     // "" for a bucket
    std::map<std::string, std::string, std::less<>> query;
    Authenticated auth;
    bool has(std::string_view name) const { return !query.empty() && query.contains(name); }
    std::string get(std::string_view name) const {
      auto it = query.find(name);
      return it == query.end() ? std::string() : it->second;
    }
  };

  Awaitable<Reply> dispatch(Call& call);

  // Service and buckets (s3_api.cpp).
  Reply list_buckets(Call& call);
  Reply create_bucket(Call& call, const std::string& body);
  Reply head_bucket(Call& call);
  Reply delete_bucket(Call& call);
  Reply bucket_location(Call& call);
  Awaitable<Reply> list_objects(Call& call, bool v2);
  Awaitable<Reply> delete_objects(Call& call);

  // Objects (s3_object_api.cpp).
  Awaitable<Reply> put_object(Call& call);
  Awaitable<Reply> copy_object(Call& call);
  Awaitable<Reply> get_object(Call& call);
  Awaitable<Reply> delete_object(Call& call);

  // Multipart uploads (s3_multipart_api.cpp).
  Reply create_upload(Call& call);
  Awaitable<Reply> upload_part(Call& call);
  Awaitable<Reply> complete_upload(Call& call);
  Reply abort_upload(Call& call);
  Reply list_parts(Call& call);
  Reply list_uploads(Call& call);

  std::shared_ptr<FileStore> store_;
  ApiOptions options_;
};

// Helpers shared by the operation files.
namespace detail {
http::Response xml_response(int status, std::string body);
// Content type and x-amz-meta-* of a request; an S3Error for metadata over the limits.
std::variant<PutOptions, S3Error> put_options(const http::Request& request);
// EntityTooLarge when the request declares a body (its decoded length for aws-chunked) over
// `max` bytes, before anything is read.
std::optional<S3Error> check_declared_size(const http::Request& request, std::uint64_t max);
// The key checks of the S3 API: KeyTooLongError, InvalidArgument.
std::optional<S3Error> check_key(const std::string& key);
// The bucket-name rule (validate_bucket_name) as S3 answers it: InvalidBucketName, 400.
// dispatch() applies it to the path's bucket before any operation runs, CopyObject to its
// source's.
std::optional<S3Error> check_bucket(std::string_view bucket);
// The S3 error for a store error in the context of a bucket or an object.
S3Error from_store(const Error& error, bool object);
}  // namespace detail

}  // namespace stoa::objects::s3
