#pragma once
// The object store of a process, chosen by objects.url, shared by every component that
// stores objects (search, workers) and by the S3 endpoint:
//   file://DIR[?bucket=NAME]   the filesystem store in DIR (default data/objects); components
//                              use bucket NAME (default "stoa"), created when missing
//   s3://BUCKET?endpoint=http://host:port[&region=…]   an S3-compatible service
//                              (s3_client_store.h), keys from objects.access_key/secret_key
#include <memory>
#include <string>

#include "data/objects/file_store.h"
#include "data/objects/object_store.h"

namespace stoa {
class ComponentHost;
}

namespace stoa::objects {

struct FileUrl {
  std::string directory;
  std::string bucket = "stoa";
};
// invalid_argument naming the problem when `url` is not file://DIR[?bucket=NAME].
Result<FileUrl> parse_file_url(const std::string& url);

// The filesystem store of objects.url, opened once per process; nullptr when objects.url is
// not file://. Throws std::runtime_error when the directory cannot be used.
std::shared_ptr<FileStore> shared_file_store(ComponentHost& host);

// The store components use: one bucket of the configured backend. Throws
// std::runtime_error when it cannot be opened.
std::shared_ptr<ObjectStore> shared_object_store(ComponentHost& host);

}  // namespace stoa::objects
