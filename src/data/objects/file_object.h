#pragma once
// Writing and reading one object file of the filesystem store (format in file_layout.h).
// Internal to data/objects: FileStore's buckets and multipart uploads use it.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "data/objects/byte_source.h"
#include "data/objects/file_io.h"
#include "data/objects/object_store.h"

namespace stoa::objects::fileobject {

struct WriteRequest {
  std::filesystem::path temporary;  // a fresh name under the store's .tmp
  std::filesystem::path target;
  ObjectInfo info;  // key, content_type and metadata; size, etag, last_modified are computed
  std::optional<std::string> content_md5;  // raw; a mismatch is Errc::protocol
  std::optional<std::string> etag;         // overrides the MD5 ETag (multipart)
  bool exclusive = false;                  // fail with conflict when target exists
  std::filesystem::path stop_at;           // missing parent directories are created up to here
  fileio::BlockingPool* pool = nullptr;    // runs the fsyncs and the rename; null: inline
};

// Streams `body` into request.temporary, fsyncs it and publishes it at request.target
// atomically (rename, or link when exclusive), then fsyncs the directory.
Awaitable<Result<ObjectInfo>> write(WriteRequest request, ByteSource& body);

// An open object file: its description and where its data ends.
struct OpenFile {
  fileio::Fd fd;
  ObjectInfo info;
  std::optional<std::string> data;  // small objects: the bytes, read with the description
};
Result<OpenFile> open(const std::filesystem::path& path);

// A reader over [first, first+length) of an open file's data.
std::unique_ptr<ObjectReader> reader(OpenFile file, std::optional<RangeRequest> range,
                                     Status* range_error);

// Removes empty directories from `directory` up to (not including) `stop_at`.
void prune_empty_directories(std::filesystem::path directory, const std::filesystem::path& stop_at);

}  // namespace stoa::objects::fileobject
