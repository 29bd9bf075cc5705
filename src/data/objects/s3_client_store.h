#pragma once
// The S3 client backend (objects.url = "s3://BUCKET?endpoint=http://host:port&region=…"):
// one bucket of any S3-compatible service, path-style, every request signed with SigV4
// (sigv4.h, the code the endpoint verifies with). Memory stays bounded by `part_bytes`:
// a put sends bodies up to one part in a single PUT and larger ones as a multipart upload,
// part by part; a get reads ranges of at most one part, pinned to the first ETag (If-Match).
// Requests that fail with a 5xx (500 InternalError, 503 SlowDown), a 429 throttle or a
// transport error (refused, reset, timed out, cut short) are retried with exponential backoff
// and jitter, up to max_attempts, and within a retry budget shared by the store's requests (a
// failing endpoint sees about 1.2x its requests, not max_attempts times); other 4xx answers
// are not retried.
#include <chrono>
#include <memory>
#include <string>

#include "data/objects/object_store.h"

namespace stoa::objects {

struct S3Location {
  std::string bucket;
  std::string endpoint;  // "http://127.0.0.1:9000": scheme and authority
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
};

// invalid_argument naming the problem when `url` is not s3://BUCKET?endpoint=…[&region=…].
Result<S3Location> parse_s3_url(const std::string& url);

struct S3ClientOptions {
  std::size_t part_bytes = 8 * 1024 * 1024;   // multipart part size and ranged-GET size
  int max_attempts = 4;                       // per request, the first included
  std::chrono::milliseconds base_delay{100};  // backoff: base * 2^attempt, +-50% jitter
  // Retries of all requests together (runtime/retry.h, RetryBudget): each request adds
  // `ratio` of a retry to a balance that starts at and stays under `reserve`.
  double retry_budget_ratio = 0.2;
  double retry_budget_reserve = 10;
  std::chrono::milliseconds request_timeout{60'000};
};

// Calls run on the caller's io_context; an HTTP client per context is made on first use and
// kept, so every io_context that calls the store must outlive it (the process's do).
std::shared_ptr<ObjectStore> make_s3_store(S3Location location, S3ClientOptions options = {});

}  // namespace stoa::objects
