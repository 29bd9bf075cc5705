// PutObject, CopyObject, GetObject/HeadObject and DeleteObject of the S3 endpoint.
#include "data/objects/s3_api.h"
#include "data/objects/s3_payload.h"
#include "data/objects/xml.h"
#include "runtime/digest.h"
#include "runtime/http/conditional.h"
#include "runtime/http/etag.h"
#include "runtime/http/http_date.h"
#include "runtime/http/range.h"
#include "runtime/time_format.h"

namespace stoa::objects::s3 {

using namespace detail;

namespace {

// The bytes of an object reader as a response body that the server pulls in chunks.
class ReaderStream final : public http::BodyStream {
 public:
  explicit ReaderStream(std::unique_ptr<ObjectReader> reader) : reader_(std::move(reader)) {}
  std::uint64_t size() const override { return reader_->length(); }
  Awaitable<std::size_t> read(std::span<char> out) override {
    Result<std::size_t> n = co_await reader_->read(out);
    co_return n ? *n : 0;
  }

 private:
  std::unique_ptr<ObjectReader> reader_;
};

// One range of the Range field. A field with several ranges is ignored (the whole object is
// sent), as S3 does and RFC 9110 allows; so is a malformed one.
std::optional<RangeRequest> single_range(std::string_view field) {
  auto specs = http::parse_range(field);
  if (!specs || specs->size() != 1) return std::nullopt;
  return specs->front();
}

http::Validators validators(const ObjectInfo& info) {
  return http::Validators{.exists = true,
                          .etag = http::EntityTag{info.etag, false},
                          .last_modified = info.last_modified};
}

// S3 clients may send a tag without its quotes: the endpoint reads tags leniently.
constexpr http::ConditionalOptions kConditionals{.syntax = http::TagSyntax::lenient};

// The request's If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since (RFC 9110
// section 13.2.2) against the object.
http::Outcome evaluate_conditionals(const http::Request& request, const ObjectInfo& info) {
  return http::evaluate_preconditions(request.method, http::preconditions_of(request.headers),
                                      validators(info), kConditionals);
}

// Whether the tag list `field` (an x-amz-copy-source-if-* header) names the object's tag.
bool etag_listed(std::string_view field, const ObjectInfo& info, bool strong) {
  auto list = http::parse_entity_tag_list(field, kConditionals.syntax);
  if (!list) return false;
  const http::EntityTag current{info.etag, false};
  return strong ? http::matches_strong(*list, current) : http::matches_weak(*list, current);
}

void describe(http::Response& response, const ObjectInfo& info) {
  response.headers.add("ETag", http::strong_etag(info.etag));
  response.headers.add("Last-Modified", http::format_http_date(info.last_modified));
  for (const auto& [name, value] : info.metadata) response.headers.add("x-amz-meta-" + name, value);
}

}  // namespace

Awaitable<S3Api::Reply> S3Api::put_object(Call& call) {
  auto parsed = put_options(call.request);
  if (auto* error = std::get_if<S3Error>(&parsed)) co_return *error;
  PutOptions options = std::move(std::get<PutOptions>(parsed));
  if (auto v = call.request.headers.get("If-None-Match")) {
    if (*v != "*") co_return not_implemented("If-None-Match other than * on PUT");
    options.if_none_match = true;
  }
  auto bucket = store_->bucket(call.bucket);
  if (auto v = call.request.headers.get("If-Match")) {
    auto existing = co_await bucket->head(call.key);
    if (!existing) co_return from_store(existing.error(), true);
    if (!etag_listed(*v, *existing, true)) co_return from_store({Errc::conflict, ""}, true);
  }
  if (auto error = check_declared_size(call.request, options_.max_object_bytes)) co_return *error;
  Failure failure = std::make_shared<std::optional<S3Error>>();
  auto base = request_body(call.request, failure);
  auto source = payload_source(call.request, call.auth, *base, failure);
  if (auto* error = std::get_if<S3Error>(&source)) co_return *error;
  auto stored = co_await bucket->put(call.key, *std::get<0>(source), std::move(options));
  if (!stored) {
    if (*failure) co_return **failure;
    co_return from_store(stored.error(), true);
  }
  http::Response response;
  response.headers.add("ETag", http::strong_etag(stored->etag));
  co_return response;
}

Awaitable<S3Api::Reply> S3Api::copy_object(Call& call) {
  std::string source_text(*call.request.headers.get("x-amz-copy-source"));
  if (auto q = source_text.find('?'); q != std::string::npos) {
    if (source_text.substr(q + 1).starts_with("versionId=")) {
      co_return not_implemented("Copying a version");
    }
    source_text.resize(q);
  }
  auto decoded = http::percent_decode(source_text);
  if (!decoded) co_return invalid_argument("x-amz-copy-source has a malformed escape");
  std::string_view source = *decoded;
  if (source.starts_with('/')) source.remove_prefix(1);
  auto slash = source.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == source.size()) {
    co_return invalid_argument("x-amz-copy-source must be BUCKET/KEY");
  }
  std::string from_bucket(source.substr(0, slash)), from_key(source.substr(slash + 1));
  if (auto error = check_bucket(from_bucket)) co_return *error;
  if (auto error = check_key(from_key)) co_return *error;
  if (!store_->bucket_exists(from_bucket)) co_return no_such_bucket();

  std::string directive(call.request.headers.get("x-amz-metadata-directive").value_or("COPY"));
  if (directive != "COPY" && directive != "REPLACE") {
    co_return invalid_argument("Unknown metadata directive.");
  }
  if (directive == "COPY" && from_bucket == call.bucket && from_key == call.key) {
    co_return invalid_request(
        "This copy request is illegal because it is trying to copy an object to itself without "
        "changing the object's metadata, storage class, website redirect location or "
        "encryption attributes.");
  }
  auto reader = co_await store_->bucket(from_bucket)->get(from_key);
  if (!reader) co_return from_store(reader.error(), true);
  const ObjectInfo& info = (*reader)->info();
  if (auto v = call.request.headers.get("x-amz-copy-source-if-match");
      v && !etag_listed(*v, info, true)) {
    co_return from_store({Errc::conflict, ""}, true);
  }
  if (auto v = call.request.headers.get("x-amz-copy-source-if-none-match");
      v && etag_listed(*v, info, false)) {
    co_return from_store({Errc::conflict, ""}, true);
  }
  PutOptions options;
  if (directive == "REPLACE") {
    auto parsed = put_options(call.request);
    if (auto* error = std::get_if<S3Error>(&parsed)) co_return *error;
    options = std::move(std::get<PutOptions>(parsed));
    options.content_md5.reset();
  } else {
    options.content_type = info.content_type;
    options.metadata = info.metadata;
  }
  auto stored = co_await store_->bucket(call.bucket)->put(call.key, **reader, std::move(options));
  if (!stored) co_return from_store(stored.error(), true);
  xml::Writer w;
  w.open("CopyObjectResult", kXmlns)
      .element("LastModified", rfc3339_ms(stored->last_modified))
      .element("ETag", http::strong_etag(stored->etag))
      .close("CopyObjectResult");
  co_return xml_response(200, w.take());
}

Awaitable<S3Api::Reply> S3Api::get_object(Call& call) {
  const bool head = call.request.method == "HEAD";
  std::optional<RangeRequest> range;
  if (auto header = call.request.headers.get("Range")) range = single_range(*header);
  auto bucket = store_->bucket(call.bucket);
  auto reader = co_await bucket->get(call.key, range);
  if (!reader && reader.error().code == Errc::invalid_argument && range) {
    auto info = co_await bucket->head(call.key);
    S3Error error{416, "InvalidRange", "The requested range is not satisfiable"};
    if (!info) co_return from_store(info.error(), true);
    // A conditional that fails takes precedence over the range.
    if (evaluate_conditionals(call.request, *info) == http::Outcome::failed) {
      co_return from_store({Errc::conflict, ""}, true);
    }
    co_return error;
  }
  if (!reader) co_return from_store(reader.error(), true);
  const ObjectInfo& info = (*reader)->info();

  http::Response response;
  if (auto outcome = evaluate_conditionals(call.request, info); outcome != http::Outcome::proceed) {
    if (outcome == http::Outcome::failed) co_return from_store({Errc::conflict, ""}, true);
    response.status = 304;
    describe(response, info);
    co_return response;
  }
  describe(response, info);
  response.headers.add("Accept-Ranges", "bytes");
  std::string content_type = info.content_type;
  static const std::pair<const char*, const char*> overrides[] = {
      {"response-content-type", "Content-Type"},
      {"response-content-disposition", "Content-Disposition"},
      {"response-content-encoding", "Content-Encoding"},
      {"response-content-language", "Content-Language"},
      {"response-cache-control", "Cache-Control"},
      {"response-expires", "Expires"}};
  for (const auto& [parameter, header] : overrides) {
    if (!call.has(parameter)) continue;
    if (std::string_view(header) == "Content-Type") {
      content_type = call.get(parameter);
    } else {
      response.headers.add(header, call.get(parameter));
    }
  }
  response.headers.add("Content-Type", content_type);
  ObjectReader& r = **reader;
  if (r.ranged()) {
    response.status = 206;
    response.headers.add(
        "Content-Range",
        http::content_range({.first = r.first(), .length = r.length()}, info.size));
  }
  if (!head && r.length() <= options_.inline_response_bytes) {
    // Small: the body is sent with the head in one write.
    if (auto bytes = r.take_in_memory()) {
      response.body = std::move(*bytes);
      co_return response;
    }
    response.body.resize(static_cast<std::size_t>(r.length()));
    std::size_t filled = 0;
    while (filled < response.body.size()) {
      Result<std::size_t> n = co_await r.read(
          std::span<char>(response.body.data() + filled, response.body.size() - filled));
      if (!n || *n == 0) co_return internal_error();
      filled += *n;
    }
  } else {
    response.stream = std::make_shared<ReaderStream>(std::move(*reader));
  }
  co_return response;
}

Awaitable<S3Api::Reply> S3Api::delete_object(Call& call) {
  Status removed = co_await store_->bucket(call.bucket)->remove(call.key);
  if (!removed) co_return from_store(removed.error(), true);
  http::Response response;
  response.status = 204;
  co_return response;
}

}  // namespace stoa::objects::s3
