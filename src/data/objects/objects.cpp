#include "data/objects/objects.h"

#include <stdexcept>

#include "data/objects/s3_client_store.h"
#include "runtime/component.h"
#include "runtime/config.h"
#include "runtime/http_types.h"

namespace stoa::objects {

Result<FileUrl> parse_file_url(const std::string& url) {
  constexpr std::string_view kScheme = "file://";
  if (!url.starts_with(kScheme)) {
    return Error{Errc::invalid_argument,
                 "objects.url " + quote_for_message(url) + " is not file://"};
  }
  FileUrl out;
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  auto question = rest.find('?');
  out.directory = std::string(rest.substr(0, question));
  if (out.directory.empty()) {
    return Error{Errc::invalid_argument, "objects.url: file:// needs a directory"};
  }
  if (question != std::string_view::npos) {
    std::string_view query = rest.substr(question + 1);
    if (!query.starts_with("bucket=") || query.find('&') != std::string_view::npos) {
      return Error{Errc::invalid_argument, "objects.url: file:// takes only ?bucket=NAME"};
    }
    auto bucket = http::percent_decode(query.substr(7));
    if (!bucket || !validate_bucket_name(*bucket)) {
      return Error{Errc::invalid_argument, "objects.url: ?bucket= is not a valid bucket name"};
    }
    out.bucket = *bucket;
  }
  return out;
}

std::shared_ptr<FileStore> shared_file_store(ComponentHost& host) {
  const std::string& url = host.config().string("objects.url");
  if (!url.starts_with("file://")) return nullptr;
  return host.shared<FileStore>("objects.file_store", [&url]() -> std::shared_ptr<FileStore> {
    auto parsed = parse_file_url(url);
    if (!parsed) throw std::runtime_error(parsed.error().message);
    auto store = FileStore::open(parsed->directory);
    if (!store) throw std::runtime_error("objects.url: " + store.error().message);
    return *store;
  });
}

std::shared_ptr<ObjectStore> shared_object_store(ComponentHost& host) {
  const std::string& url = host.config().string("objects.url");
  return host.shared<ObjectStore>("objects", [&]() -> std::shared_ptr<ObjectStore> {
    if (auto store = shared_file_store(host)) {
      std::string bucket = parse_file_url(url)->bucket;
      if (!store->bucket_exists(bucket)) {
        auto created = store->create_bucket(bucket);
        if (!created && created.error().code != Errc::conflict) {
          throw std::runtime_error("objects: cannot create bucket " + bucket + ": " +
                                   created.error().message);
        }
      }
      return store->bucket(bucket);
    }
    auto location = parse_s3_url(url);
    if (!location) {
      throw std::runtime_error(location.error().message +
                               " (objects.url is file://DIR or "
                               "s3://BUCKET?endpoint=…)");
    }
    location->access_key = host.config().string("objects.access_key");
    location->secret_key = host.config().string("objects.secret_key");
    return make_s3_store(std::move(*location));
  });
}

}  // namespace stoa::objects
