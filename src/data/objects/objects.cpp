#include "data/objects/objects.h"

#include <stdexcept>

#include "data/objects/backend.h"
#include "runtime/backend_registry.h"
#include "runtime/backend_url.h"
#include "runtime/component.h"
#include "runtime/config.h"

namespace stoa::objects {

namespace {

BackendRegistry<StoreFactory>& stores() {
  static BackendRegistry<StoreFactory> registry("objects.url");
  return registry;
}

}  // namespace

bool register_store(std::string scheme, StoreFactory factory) {
  return stores().add(std::move(scheme), std::move(factory));
}

Result<FileUrl> parse_file_url(const std::string& url) {
  auto parsed = parse_backend_url(url, UrlForm::path);
  if (!parsed || parsed->scheme != "file") {
    return Error{Errc::invalid_argument,
                 "objects.url " + quote_for_message(url) + " is not file://"};
  }
  FileUrl out;
  out.directory = parsed->path;
  if (out.directory.empty()) {
    return Error{Errc::invalid_argument, "objects.url: file:// needs a directory"};
  }
  if (parsed->has_fragment || parsed->query.size() > 1 ||
      (parsed->query.size() == 1 && parsed->query.front().name != "bucket")) {
    return Error{Errc::invalid_argument, "objects.url: file:// takes only ?bucket=NAME"};
  }
  if (auto bucket = parsed->param("bucket")) {
    if (!validate_bucket_name(*bucket)) {
      return Error{Errc::invalid_argument, "objects.url: ?bucket= is not a valid bucket name"};
    }
    out.bucket = *bucket;
  }
  return out;
}

std::shared_ptr<FileStore> shared_file_store(ComponentHost& host) {
  const std::string& url = host.config().string("objects.url");
  if (url_scheme(url) != "file") return nullptr;
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
    auto factory = stores().find(url);
    if (!factory) throw std::runtime_error(factory.error().message);
    auto store = (*factory)(url, host);
    if (!store) throw std::runtime_error(store.error().message);
    return std::move(store).value();
  });
}

namespace {

// One bucket of the process's filesystem store, created when missing.
[[maybe_unused]] const bool registered = register_store(
    "file",
    [](const std::string& url, ComponentHost& host) -> Result<std::shared_ptr<ObjectStore>> {
      auto parsed = parse_file_url(url);
      if (!parsed) return parsed.error();
      auto store = shared_file_store(host);
      if (!store->bucket_exists(parsed->bucket)) {
        auto created = store->create_bucket(parsed->bucket);
        if (!created && created.error().code != Errc::conflict) {
          return Error{created.error().code, "objects: cannot create bucket " + parsed->bucket +
                                                 ": " + created.error().message};
        }
      }
      return store->bucket(parsed->bucket);
    });

}  // namespace

}  // namespace stoa::objects
