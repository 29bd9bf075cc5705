// The objects component: Stoa's S3-compatible endpoint ([s3] listen, port 9000), serving
// the filesystem store of objects.url so that every S3 tool works against `stoa up`. It lives
// in data/objects because it is the object store's own server.
#include <memory>
#include <stdexcept>

#include "data/objects/objects.h"
#include "data/objects/s3_api.h"
#include "observability/log.h"
#include "runtime/component.h"
#include "runtime/config.h"
#include "runtime/http_server.h"
#include "runtime/router.h"

namespace stoa::objects {
namespace {

constexpr std::string_view kDefaultCredential = "stoa:stoa-secret-key";

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

class ObjectsComponent final : public Component {
 public:
  void start(ComponentHost& host) override {
    const Config& config = host.config();
    auto store = shared_file_store(host);
    if (!store) {
      obs::log(obs::Level::info, "objects",
               "objects.url is not file://: the S3 endpoint serves only the filesystem store and "
               "is not started");
      return;
    }
    auto credentials =
        s3::parse_credentials(config.strings("s3.credentials"), config.string("s3.region"));
    if (!credentials) throw std::runtime_error(credentials.error().message);
    ListenAddress address = config.address("s3.listen");
    const auto entries = config.strings("s3.credentials");
    bool default_key =
        std::find(entries.begin(), entries.end(), kDefaultCredential) != entries.end();
    if (default_key) {
      if (!is_loopback(address.host)) {
        throw std::runtime_error(
            "s3: refusing to listen on " + address.host +
            " with the default credentials stoa:stoa-secret-key; set s3.credentials");
      }
      obs::log(obs::Level::warn, "objects",
               "the S3 endpoint accepts the default local credentials (access key \"stoa\", "
               "secret \"stoa-secret-key\"); set s3.credentials before exposing it",
               {{"access_key", "stoa"}, {"secret_key", "stoa-secret-key"}});
    }

    // Opens the components' bucket now, so that it exists (and is listed) from the start.
    shared_object_store(host);

    s3::ApiOptions options{.credentials = *credentials,
                           .min_part_bytes = config.bytes("s3.min_part_bytes"),
                           .max_object_bytes = config.bytes("s3.max_body_bytes")};
    auto api = std::make_shared<s3::S3Api>(store, options);
    auto router = std::make_shared<http::Router>();
    // A body over a limit is refused in S3's format, which SDKs understand, not as a problem
    // document.
    auto too_large = [](const http::Request& request, std::uint64_t limit) {
      return s3::error_response(s3::entity_too_large(limit), request.path, request.request_id,
                                request.method == "HEAD");
    };
    // PUT bodies (objects, parts) stream to disk as they arrive, so they may be large; the
    // other operations' bodies are small XML documents, read whole.
    http::RouteOptions put{.max_body_bytes = s3::route_body_limit(options.max_object_bytes),
                           .stream_body = true,
                           .too_large = too_large};
    http::RouteOptions other{.max_body_bytes = s3::kMaxXmlBodyBytes, .too_large = too_large};
    for (std::string method : {"GET", "PUT", "POST", "DELETE"}) {
      router->add(
          method, "/{path...}", [api](http::Request& request) { return api->handle(request); },
          method == "PUT" ? put : other);
    }
    http::Server& server = host.serve("s3", std::move(router));

    // Presigned URLs of the store point here, signed with the first access key.
    const auto& first =
        *credentials->secrets.find(entries.front().substr(0, entries.front().find(':')));
    std::string scheme = server.listener().tls_cert_file.empty() ? "http" : "https";
    std::string host_part =
        address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
    store->set_presign_target(
        {.base_url = scheme + "://" + host_part + ":" + std::to_string(server.port()),
         .region = credentials->region,
         .access_key = first.first,
         .secret_key = first.second});
  }
};

[[maybe_unused]] const bool registered = register_component({
    .name = "objects",
    .description =
        "object storage: the S3-compatible endpoint over the filesystem store (port 9000)",
    .order = 200,
    .make = [] { return std::make_unique<ObjectsComponent>(); },
});

}  // namespace
}  // namespace stoa::objects
