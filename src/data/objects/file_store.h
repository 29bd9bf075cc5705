#pragma once
// The filesystem object store (objects.url = "file://DIR", the default): buckets are
// directories under DIR, objects files in them (file_layout.h). A put writes a temporary file
// under DIR/.tmp, fsyncs it, renames it into place and fsyncs the directory, so a crash
// never leaves a partial object visible and a finished put survives one. Multipart uploads
// keep their parts under DIR/.uploads/<id>/ until completed or aborted.
//
// Thread-safe: every call works on the filesystem only; concurrent puts of one key end with
// one of them winning whole. Calls do their file I/O on the calling thread (blocking it
// for the duration of each read, write and fsync, as nginx does).
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "data/objects/object_store.h"

namespace stoa::objects {

namespace fileio {
class BlockingPool;
}

struct BucketInfo {
  std::string name;
  std::chrono::system_clock::time_point created;
};

struct PartInfo {
  int number = 0;
  std::uint64_t size = 0;
  std::string etag;  // hex MD5, unquoted
  std::chrono::system_clock::time_point last_modified;
};

struct UploadInfo {
  std::string id;
  std::string bucket;
  std::string key;
  std::chrono::system_clock::time_point initiated;
};

class FileStore : public std::enable_shared_from_this<FileStore> {
 public:
  // Creates DIR (and its .tmp and .uploads) when missing; removes temporary files that a
  // crashed process left behind. Errc::io when DIR cannot be used.
  static Result<std::shared_ptr<FileStore>> open(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }

  // Every call taking a bucket name refuses one that breaks validate_bucket_name
  // (object_store.h) before it touches the filesystem, so no bucket resolves outside DIR or
  // into .tmp or .uploads: invalid_argument, or false from bucket_exists.
  Status create_bucket(const std::string& name);  // conflict when it exists
  Status delete_bucket(const std::string& name);  // conflict when not empty
  bool bucket_exists(const std::string& name) const;
  Result<std::vector<BucketInfo>> list_buckets() const;

  // One bucket's key space. Operations fail with not_found ("no such bucket") when the
  // bucket does not exist, and with invalid_argument when `name` is not a bucket name.
  std::shared_ptr<ObjectStore> bucket(const std::string& name);

  // Multipart uploads (S3's CreateMultipartUpload ... CompleteMultipartUpload).
  Result<std::string> create_upload(const std::string& bucket, const std::string& key,
                                    const PutOptions& options);
  Result<UploadInfo> upload(const std::string& id) const;  // not_found when unknown
  // The uploads in progress into `bucket` whose keys start with `prefix`, by key, then by
  // initiation time (at most `max`).
  Result<std::vector<UploadInfo>> list_uploads(const std::string& bucket, const std::string& prefix,
                                               std::size_t max) const;
  Awaitable<Result<PartInfo>> upload_part(std::string id, int number, ByteSource& body,
                                          std::optional<std::string> content_md5);
  Result<std::vector<PartInfo>> list_parts(const std::string& id) const;
  // `parts` in ascending order of number with the ETags the client got back; every part
  // but the last must hold at least `min_part_bytes`. invalid_argument names a wrong part.
  Awaitable<Result<ObjectInfo>> complete_upload(std::string id,
                                                std::vector<std::pair<int, std::string>> parts,
                                                std::uint64_t min_part_bytes);
  Status abort_upload(const std::string& id);

  // Where presign() of this store's buckets points: the S3 endpoint's base URL and a key
  // pair (set by the objects component when it serves the store). Unset: presign fails.
  struct PresignTarget {
    std::string base_url;  // "http://127.0.0.1:9000"
    std::string region;
    std::string access_key;
    std::string secret_key;
  };
  void set_presign_target(PresignTarget target);
  std::optional<PresignTarget> presign_target() const;

  // The directory of bucket `name`: the one place a bucket name becomes a path, so it
  // refuses (invalid_argument) a name that breaks the bucket rule.
  Result<std::filesystem::path> bucket_directory(std::string_view name) const;
  std::filesystem::path temporary_path() const;
  fileio::BlockingPool* pool() const { return pool_.get(); }
  ~FileStore();

 private:
  explicit FileStore(std::filesystem::path root);
  std::filesystem::path upload_directory(const std::string& id) const;

  std::filesystem::path root_;
  std::unique_ptr<fileio::BlockingPool> pool_;
  mutable std::mutex presign_mutex_;
  std::optional<PresignTarget> presign_target_;
};

}  // namespace stoa::objects
