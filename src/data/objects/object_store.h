#pragma once
// The object storage interface every backend implements: the filesystem store (file://, the
// default) and the S3 client (s3://). One ObjectStore is one bucket's key space; callers
// never learn which backend they have. docs/data-objects.md explains the backends.
//
// Keys are untrusted UTF-8 of 1 to 1024 bytes (validate_key); values are streamed
// (ByteSource), never required to fit in memory.
//
// Errors (runtime/error.h Errc), so that callers and the S3 endpoint can branch on them:
//   not_found         no such key (or bucket)
//   conflict          a precondition failed (If-None-Match: * on an existing key)
//   invalid_argument  a bad key, metadata or range
//   too_large         the body or metadata exceeds a bound
//   protocol          the body did not match its declared digest (Content-MD5)
//   unavailable, timeout, io: the backend failed
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/objects/byte_source.h"
#include "runtime/async.h"
#include "runtime/error.h"
#include "runtime/http/range.h"

namespace stoa::objects {

// User metadata: names are lower case, without the x-amz-meta- prefix.
using Metadata = std::map<std::string, std::string>;

struct ObjectInfo {
  std::string key{};
  std::uint64_t size = 0;
  // Without quotes: the hex MD5 of the bytes, or for a multipart upload the hex MD5 of the
  // parts' MD5s followed by "-<parts>" (what S3 does).
  std::string etag{};
  std::string content_type{};
  Metadata metadata{};
  std::chrono::system_clock::time_point last_modified{};
};

struct PutOptions {
  std::string content_type = "application/octet-stream";
  Metadata metadata{};
  bool if_none_match = false;  // `If-None-Match: *`: fail with conflict when the key exists
  std::optional<std::string> content_md5{};  // raw 16 bytes the body must hash to
};

// An HTTP byte range before it is resolved against the object's size: bytes=first-last,
// bytes=first- or bytes=-suffix (the runtime's, so that the S3 endpoint passes what it parsed).
using RangeRequest = http::RangeSpec;

// An object being read: its description and the bytes of the selected range.
class ObjectReader : public ByteSource {
 public:
  const ObjectInfo& info() const { return info_; }
  // The selected bytes, inclusive; [0, size-1] without a range (empty object: length 0).
  std::uint64_t first() const { return first_; }
  std::uint64_t length() const { return length_; }
  bool ranged() const { return ranged_; }
  // The selected bytes, when the reader already holds them in memory (a small object read
  // whole at open): handing them over spares a copy. Otherwise nullopt; read() as usual.
  virtual std::optional<std::string> take_in_memory() { return std::nullopt; }

 protected:
  ObjectInfo info_;
  std::uint64_t first_ = 0;
  std::uint64_t length_ = 0;
  bool ranged_ = false;
};

struct ListOptions {
  std::string prefix{};
  std::string delimiter{};    // "" = no grouping
  std::string start_after{};  // keys strictly after this one
  std::size_t max_keys = 1000;
};

struct ListResult {
  std::vector<ObjectInfo> objects;           // in key (byte) order
  std::vector<std::string> common_prefixes;  // in order; each counts against max_keys
  bool truncated = false;
  std::string next_marker;  // when truncated: pass as start_after to continue
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Streams `body` into `key`. Atomic: readers see the old object or the new one, never a part.
  virtual Awaitable<Result<ObjectInfo>> put(std::string key, ByteSource& body,
                                            PutOptions options) = 0;
  // The object (or the range of it); invalid_argument when the range is not satisfiable.
  virtual Awaitable<Result<std::unique_ptr<ObjectReader>>> get(
      std::string key, std::optional<RangeRequest> range = std::nullopt) = 0;
  virtual Awaitable<Result<ObjectInfo>> head(std::string key) = 0;
  // Removing a key that does not exist succeeds (as in S3).
  virtual Awaitable<Status> remove(std::string key) = 0;
  virtual Awaitable<Result<ListResult>> list(ListOptions options) = 0;
  // Copies within the store. `metadata` replaces the source's content type and metadata when
  // set, otherwise they are copied.
  virtual Awaitable<Result<ObjectInfo>> copy(std::string from, std::string to,
                                             std::optional<PutOptions> metadata) = 0;
  // A URL that lets its holder GET or PUT `key` without credentials until it expires
  // (at most 7 days). Errc::unavailable when the backend has no URL to offer.
  virtual Result<std::string> presign(std::string_view method, const std::string& key,
                                      std::chrono::seconds expires) const = 0;
};

// Limits that every backend enforces on what callers pass.
inline constexpr std::size_t kMaxKeyBytes = 1024;
inline constexpr std::size_t kMaxMetadataBytes = 2048;  // names + values, as S3 counts them

// The (first byte, length) that `range` selects in an object of `size` bytes: the whole object
// without a range, nullopt when the range is not satisfiable.
std::optional<std::pair<std::uint64_t, std::uint64_t>> resolve_range(
    std::uint64_t size, const std::optional<RangeRequest>& range);

// invalid_argument naming the problem when `key` is not 1-1024 bytes of valid UTF-8 without
// control characters (U+0000-U+001F, U+007F).
Status validate_key(std::string_view key);
// The one bucket-name rule, S3's: 3-63 of [a-z0-9.-], starting and ending with a letter or
// digit, no "..", not an IPv4 address; invalid_argument naming the problem otherwise. It is
// also what keeps a bucket a plain directory name (no slash or backslash, never "." or "..",
// no leading '.'), so a bucket can never name a parent directory or the filesystem store's own
// .tmp and .uploads. Every operation that takes a bucket name checks it before using it.
Status validate_bucket_name(std::string_view name);
// too_large over kMaxMetadataBytes; invalid_argument for a name that is not a token or a value
// with control characters.
Status validate_metadata(const Metadata& metadata);

}  // namespace stoa::objects
