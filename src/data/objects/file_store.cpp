#include "data/objects/file_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <fstream>

#include "data/objects/file_io.h"
#include "data/objects/file_layout.h"
#include "data/objects/file_list.h"
#include "data/objects/file_object.h"
#include "data/objects/presign.h"
#include "runtime/digest.h"
#include "runtime/hex.h"

namespace stoa::objects {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTmp = ".tmp";
constexpr std::string_view kUploads = ".uploads";
constexpr std::string_view kBucketMarker = ".bucket";  // holds the creation time
constexpr auto kStaleTemporary = std::chrono::hours(1);

ObjectInfo describe(std::string key, std::string content_type, Metadata metadata) {
  ObjectInfo info;
  info.key = std::move(key);
  info.content_type = std::move(content_type);
  info.metadata = std::move(metadata);
  return info;
}

Error no_such_bucket(const std::string& name) {
  return Error{Errc::not_found, "no such bucket " + quote_for_message(name)};
}

std::chrono::system_clock::time_point modified_time(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
}

// Temporary files older than an hour belong to a process that crashed mid-put. (Younger
// ones may be another process's put in progress on the same directory.)
void remove_stale_temporaries(const fs::path& directory) {
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    auto written = entry.last_write_time(ec);
    if (!ec && now - written > kStaleTemporary) fs::remove(entry.path(), ec);
  }
}

// Every operation starts from directory_, which holds the bucket-name error instead of a
// path when the name breaks the rule: a bad name reaches no file.
class FileBucket final : public ObjectStore {
 public:
  FileBucket(std::shared_ptr<FileStore> store, std::string name)
      : store_(std::move(store)),
        name_(std::move(name)),
        directory_(store_->bucket_directory(name_)) {}

  Awaitable<Result<ObjectInfo>> put(std::string key, ByteSource& body,
                                    PutOptions options) override {
    auto path = checked_path(key);
    if (!path) co_return path.error();
    if (auto s = validate_metadata(options.metadata); !s) co_return s.error();
    fileobject::WriteRequest request{
        .temporary = store_->temporary_path(),
        .target = *directory_ / *path,
        .info = describe(key, std::move(options.content_type), std::move(options.metadata)),
        .content_md5 = std::move(options.content_md5),
        .etag = std::nullopt,
        .exclusive = options.if_none_match,
        .stop_at = *directory_,
        .pool = store_->pool(),
    };
    co_return co_await fileobject::write(std::move(request), body);
  }

  Awaitable<Result<std::unique_ptr<ObjectReader>>> get(std::string key,
                                                       std::optional<RangeRequest> range) override {
    auto file = open(key);
    if (!file) co_return file.error();
    Status range_error = Ok{};
    auto reader = fileobject::reader(std::move(*file), range, &range_error);
    if (!reader) co_return range_error.error();
    co_return std::move(reader);
  }

  Awaitable<Result<ObjectInfo>> head(std::string key) override {
    auto file = open(key);
    if (!file) co_return file.error();
    co_return std::move(file->info);
  }

  Awaitable<Status> remove(std::string key) override {
    auto path = checked_path(key);
    if (!path) co_return path.error();
    fs::path target = *directory_ / *path;
    if (::unlink(target.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
      co_return fileio::os_error("delete", target);
    }
    fileobject::prune_empty_directories(target.parent_path(), *directory_);
    co_return Ok{};
  }

  Awaitable<Result<ListResult>> list(ListOptions options) override {
    if (!directory_) co_return directory_.error();
    if (!exists()) co_return no_such_bucket(name_);
    ListResult result;
    filelist::KeyWalker walker(*directory_, options.prefix);
    std::string cursor = options.start_after;
    if (options.max_keys == 0) co_return result;
    for (;;) {
      auto next = walker.next(cursor);
      if (!next) co_return next.error();
      if (!*next) break;
      auto& [key, path] = **next;
      if (result.objects.size() + result.common_prefixes.size() >= options.max_keys) {
        result.truncated = true;
        break;
      }
      if (!options.delimiter.empty()) {
        auto at = key.find(options.delimiter, options.prefix.size());
        if (at != std::string::npos) {
          std::string common = key.substr(0, at + options.delimiter.size());
          cursor = common + "\xff";  // skip every key under this prefix
          // A page that ended on this prefix resumes after it, not inside it.
          if (common <= options.start_after) continue;
          result.common_prefixes.push_back(common);
          result.next_marker = common;
          continue;
        }
      }
      auto file = fileobject::open(path);
      if (!file) {
        if (file.error().code == Errc::not_found) {  // deleted while listing
          cursor = key;
          continue;
        }
        co_return file.error();
      }
      result.objects.push_back(std::move(file->info));
      result.next_marker = key;
      cursor = key;
    }
    if (!result.truncated) result.next_marker.clear();
    co_return result;
  }

  Awaitable<Result<ObjectInfo>> copy(std::string from, std::string to,
                                     std::optional<PutOptions> metadata) override {
    auto source = open(from);
    if (!source) co_return source.error();
    PutOptions options;
    if (metadata) {
      options = std::move(*metadata);
    } else {
      options.content_type = source->info.content_type;
      options.metadata = source->info.metadata;
    }
    Status ignored = Ok{};
    auto reader = fileobject::reader(std::move(*source), std::nullopt, &ignored);
    co_return co_await put(std::move(to), *reader, std::move(options));
  }

  Result<std::string> presign(std::string_view method, const std::string& key,
                              std::chrono::seconds expires) const override {
    if (!directory_) return directory_.error();
    auto target = store_->presign_target();
    if (!target) {
      return Error{Errc::unavailable,
                   "presigned URLs need the objects component (the S3 endpoint) running"};
    }
    return presign_url({.method = std::string(method),
                        .base_url = target->base_url,
                        .bucket = name_,
                        .key = key,
                        .region = target->region,
                        .access_key = target->access_key,
                        .secret_key = target->secret_key,
                        .expires = expires,
                        .now = std::chrono::system_clock::now()});
  }

 private:
  bool exists() const {
    struct stat st {};
    return ::stat(directory_->c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }

  Result<fs::path> checked_path(const std::string& key) const {
    if (!directory_) return directory_.error();
    if (auto s = validate_key(key); !s) return s.error();
    if (!exists()) return no_such_bucket(name_);
    return layout::object_path(key);
  }

  // The bucket's directory is looked at only when the object is missing: a read that finds
  // its object costs an open and an fstat, nothing more.
  Result<fileobject::OpenFile> open(const std::string& key) const {
    if (!directory_) return directory_.error();
    if (auto s = validate_key(key); !s) return s.error();
    auto path = layout::object_path(key);
    if (!path) return path.error();
    auto file = fileobject::open(*directory_ / *path);
    if (!file && file.error().code == Errc::not_found) {
      if (!exists()) return no_such_bucket(name_);
      return Error{Errc::not_found, "no such key " + quote_for_message(key)};
    }
    return file;
  }

  std::shared_ptr<FileStore> store_;
  std::string name_;
  Result<fs::path> directory_;
};

// A source reading the parts of an upload one after the other.
class PartsSource final : public ByteSource {
 public:
  explicit PartsSource(std::vector<std::unique_ptr<ObjectReader>> parts)
      : parts_(std::move(parts)) {}
  Awaitable<Result<std::size_t>> read(std::span<char> out) override {
    while (index_ < parts_.size()) {
      Result<std::size_t> n = co_await parts_[index_]->read(out);
      if (!n) co_return n.error();
      if (*n > 0) co_return *n;
      ++index_;
    }
    co_return std::size_t{0};
  }

 private:
  std::vector<std::unique_ptr<ObjectReader>> parts_;
  std::size_t index_ = 0;
};

std::string part_name(int number) {
  return std::to_string(number) + ".part";
}

}  // namespace

// Enough threads that the fsyncs of many concurrent puts are in flight together.
constexpr std::size_t kBlockingThreads = 32;

FileStore::FileStore(fs::path root)
    : root_(std::move(root)), pool_(std::make_unique<fileio::BlockingPool>(kBlockingThreads)) {}

FileStore::~FileStore() = default;

Result<std::shared_ptr<FileStore>> FileStore::open(const fs::path& root) {
  std::error_code ec;
  for (const auto& directory : {root, root / kTmp, root / kUploads}) {
    fs::create_directories(directory, ec);
    if (ec) {
      return Error{Errc::io, "cannot create the object store directory " + directory.string() +
                                 ": " + ec.message()};
    }
  }
  if (::access(root.c_str(), R_OK | W_OK | X_OK) != 0) {
    return fileio::os_error("cannot use the object store directory", root);
  }
  remove_stale_temporaries(root / kTmp);
  return std::shared_ptr<FileStore>(new FileStore(fs::absolute(root)));
}

Result<fs::path> FileStore::bucket_directory(std::string_view name) const {
  if (auto s = validate_bucket_name(name); !s) return s.error();
  return root_ / name;
}

Status FileStore::create_bucket(const std::string& name) {
  auto directory = bucket_directory(name);
  if (!directory) return directory.error();
  if (::mkdir(directory->c_str(), 0755) != 0) {
    if (errno == EEXIST) return Error{Errc::conflict, "the bucket exists"};
    return fileio::os_error("create bucket", *directory);
  }
  std::ofstream(*directory / kBucketMarker)
      << std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count();
  return fileio::fsync_directory(root_);
}

Status FileStore::delete_bucket(const std::string& name) {
  auto found = bucket_directory(name);
  if (!found) return found.error();
  if (!bucket_exists(name)) return no_such_bucket(name);
  const fs::path& directory = *found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    if (entry.path().filename() != kBucketMarker) {
      return Error{Errc::conflict, "the bucket is not empty"};
    }
  }
  fs::remove(directory / kBucketMarker, ec);
  if (::rmdir(directory.c_str()) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST)
      return Error{Errc::conflict, "the bucket is not empty"};
    return fileio::os_error("delete bucket", directory);
  }
  return Ok{};
}

bool FileStore::bucket_exists(const std::string& name) const {
  auto directory = bucket_directory(name);
  if (!directory) return false;
  struct stat st {};
  return ::stat(directory->c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::vector<BucketInfo>> FileStore::list_buckets() const {
  std::vector<BucketInfo> buckets;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory(ec) || !validate_bucket_name(name)) continue;
    BucketInfo info{.name = name, .created = modified_time(entry.path())};
    std::ifstream marker(entry.path() / kBucketMarker);
    long long seconds = 0;
    if (marker >> seconds)
      info.created = std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
    buckets.push_back(std::move(info));
  }
  if (ec) return Error{Errc::io, "cannot list " + root_.string() + ": " + ec.message()};
  std::sort(buckets.begin(), buckets.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return buckets;
}

std::shared_ptr<ObjectStore> FileStore::bucket(const std::string& name) {
  return std::make_shared<FileBucket>(shared_from_this(), name);
}

fs::path FileStore::temporary_path() const {
  return root_ / kTmp / fileio::random_name();
}

fs::path FileStore::upload_directory(const std::string& id) const {
  return root_ / kUploads / id;
}

Result<std::string> FileStore::create_upload(const std::string& bucket, const std::string& key,
                                             const PutOptions& options) {
  if (auto s = validate_key(key); !s) return s.error();
  if (auto s = validate_metadata(options.metadata); !s) return s.error();
  if (auto p = layout::object_path(key); !p) return p.error();
  if (auto directory = bucket_directory(bucket); !directory) return directory.error();
  if (!bucket_exists(bucket)) return no_such_bucket(bucket);
  std::string id = fileio::random_name();
  fs::path directory = upload_directory(id);
  if (::mkdir(directory.c_str(), 0755) != 0) return fileio::os_error("create upload", directory);
  boost::json::object metadata;
  for (const auto& [name, value] : options.metadata) metadata[name] = value;
  boost::json::object description{
      {"bucket", bucket},
      {"key", key},
      {"content_type", options.content_type},
      {"metadata", std::move(metadata)},
      {"initiated", std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count()}};
  std::string text = boost::json::serialize(description);
  fs::path temporary = temporary_path();
  {
    fileio::Fd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) return fileio::os_error("create", temporary);
    if (auto s = fileio::write_all(fd.get(), text); !s) return s.error();
    if (::fsync(fd.get()) != 0) return fileio::os_error("fsync", temporary);
  }
  if (::rename(temporary.c_str(), (directory / "upload.json").c_str()) != 0) {
    return fileio::os_error("create upload", directory);
  }
  return id;
}

namespace {

struct UploadDescription {
  UploadInfo info;
  PutOptions options;
};

Result<UploadDescription> read_upload(const fs::path& directory, const std::string& id) {
  auto unknown = [&] { return Error{Errc::not_found, "no such upload " + quote_for_message(id)}; };
  if (id.size() != 32 || id.find_first_not_of("0123456789abcdef") != std::string::npos)
    return unknown();
  std::ifstream in(directory / "upload.json");
  if (!in) return unknown();
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec);
  if (ec || !value.is_object()) return Error{Errc::io, "corrupt upload " + id};
  UploadDescription d;
  try {
    const auto& o = value.as_object();
    d.info.id = id;
    d.info.bucket = std::string(o.at("bucket").as_string());
    d.info.key = std::string(o.at("key").as_string());
    d.info.initiated = std::chrono::system_clock::time_point(
        std::chrono::seconds(o.at("initiated").to_number<std::int64_t>()));
    d.options.content_type = std::string(o.at("content_type").as_string());
    for (const auto& [name, v] : o.at("metadata").as_object()) {
      d.options.metadata[std::string(name)] = std::string(v.as_string());
    }
  } catch (const std::exception&) {
    return Error{Errc::io, "corrupt upload " + id};
  }
  return d;
}

}  // namespace

Result<UploadInfo> FileStore::upload(const std::string& id) const {
  auto d = read_upload(upload_directory(id), id);
  if (!d) return d.error();
  return d->info;
}

Result<std::vector<UploadInfo>> FileStore::list_uploads(const std::string& bucket,
                                                        const std::string& prefix,
                                                        std::size_t max) const {
  std::vector<UploadInfo> uploads;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ / kUploads, ec)) {
    std::string id = entry.path().filename().string();
    auto d = read_upload(entry.path(), id);
    if (!d || d->info.bucket != bucket || !d->info.key.starts_with(prefix)) continue;
    uploads.push_back(std::move(d->info));
  }
  if (ec) return Error{Errc::io, "cannot list uploads: " + ec.message()};
  std::sort(uploads.begin(), uploads.end(), [](const auto& a, const auto& b) {
    return a.key != b.key ? a.key < b.key : a.initiated < b.initiated;
  });
  if (uploads.size() > max) uploads.resize(max);
  return uploads;
}

Awaitable<Result<PartInfo>> FileStore::upload_part(std::string id, int number, ByteSource& body,
                                                   std::optional<std::string> content_md5) {
  auto d = read_upload(upload_directory(id), id);
  if (!d) co_return d.error();
  if (number < 1 || number > 10000) {
    co_return Error{Errc::invalid_argument, "part numbers are 1 to 10000"};
  }
  fileobject::WriteRequest request{
      .temporary = temporary_path(),
      .target = upload_directory(id) / part_name(number),
      .info = describe(d->info.key, "", {}),
      .content_md5 = std::move(content_md5),
      .etag = std::nullopt,
      .exclusive = false,
      .stop_at = upload_directory(id),
      .pool = pool(),
  };
  auto written = co_await fileobject::write(std::move(request), body);
  if (!written) co_return written.error();
  co_return PartInfo{number, written->size, written->etag, written->last_modified};
}

Result<std::vector<PartInfo>> FileStore::list_parts(const std::string& id) const {
  auto d = read_upload(upload_directory(id), id);
  if (!d) return d.error();
  std::vector<PartInfo> parts;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(upload_directory(id), ec)) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(".part")) continue;
    int number = std::atoi(name.c_str());
    auto file = fileobject::open(entry.path());
    if (!file) continue;  // replaced or aborted meanwhile
    parts.push_back({number, file->info.size, file->info.etag, file->info.last_modified});
  }
  std::sort(parts.begin(), parts.end(),
            [](const auto& a, const auto& b) { return a.number < b.number; });
  return parts;
}

Awaitable<Result<ObjectInfo>> FileStore::complete_upload(
    std::string id, std::vector<std::pair<int, std::string>> parts, std::uint64_t min_part_bytes) {
  auto d = read_upload(upload_directory(id), id);
  if (!d) co_return d.error();
  if (parts.empty()) co_return Error{Errc::invalid_argument, "the upload names no parts"};
  std::vector<std::unique_ptr<ObjectReader>> readers;
  std::string md5s;
  int previous = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto& [number, etag] = parts[i];
    if (number <= previous) co_return Error{Errc::invalid_argument, "InvalidPartOrder"};
    previous = number;
    auto file = fileobject::open(upload_directory(id) / part_name(number));
    if (!file || file->info.etag != etag) {
      co_return Error{Errc::invalid_argument, "InvalidPart: part " + std::to_string(number) +
                                                  " was not uploaded or its ETag differs"};
    }
    if (i + 1 < parts.size() && file->info.size < min_part_bytes) {
      co_return Error{Errc::too_large, "EntityTooSmall: part " + std::to_string(number) +
                                           " is smaller than " + std::to_string(min_part_bytes) +
                                           " bytes"};
    }
    md5s += *from_hex(file->info.etag);
    Status ignored = Ok{};
    readers.push_back(fileobject::reader(std::move(*file), std::nullopt, &ignored));
  }
  // upload.json is read back from disk: its bucket and key are checked again here.
  if (auto s = validate_key(d->info.key); !s) co_return s.error();
  auto path = layout::object_path(d->info.key);
  if (!path) co_return path.error();
  auto directory = bucket_directory(d->info.bucket);
  if (!directory) co_return directory.error();
  if (!bucket_exists(d->info.bucket)) co_return no_such_bucket(d->info.bucket);
  PartsSource source(std::move(readers));
  fileobject::WriteRequest request{
      .temporary = temporary_path(),
      .target = *directory / *path,
      .info = describe(d->info.key, d->options.content_type, d->options.metadata),
      .content_md5 = std::nullopt,
      .etag = to_hex(md5(md5s)) + "-" + std::to_string(parts.size()),
      .exclusive = false,
      .stop_at = *directory,
      .pool = pool(),
  };
  auto written = co_await fileobject::write(std::move(request), source);
  if (!written) co_return written.error();
  std::error_code ec;
  fs::remove_all(upload_directory(id), ec);
  co_return written;
}

Status FileStore::abort_upload(const std::string& id) {
  auto d = read_upload(upload_directory(id), id);
  if (!d) return d.error();
  std::error_code ec;
  fs::remove_all(upload_directory(id), ec);
  if (ec) return Error{Errc::io, "cannot remove upload " + id + ": " + ec.message()};
  return Ok{};
}

void FileStore::set_presign_target(PresignTarget target) {
  std::lock_guard lock(presign_mutex_);
  presign_target_ = std::move(target);
}

std::optional<FileStore::PresignTarget> FileStore::presign_target() const {
  std::lock_guard lock(presign_mutex_);
  return presign_target_;
}

}  // namespace stoa::objects
