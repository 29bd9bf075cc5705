// PutObject, CopyObject, GetObject/HeadObject and DeleteObject of the S3 endpoint.
#include <charconv>
#include <ctime>

#include "data/objects/s3_api.h"
#include "data/objects/s3_payload.h"
#include "data/objects/xml.h"
#include "runtime/digest.h"

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

// "bytes=a-b", "bytes=a-", "bytes=-n". Anything else (several ranges included) is ignored,
// as RFC 9110 allows: the whole object is sent.
std::optional<RangeRequest> parse_range(std::string_view header) {
  if (!header.starts_with("bytes=")) return std::nullopt;
  header.remove_prefix(6);
  if (header.find(',') != std::string_view::npos) return std::nullopt;
  auto dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view text) -> std::optional<std::uint64_t> {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
    return v;
  };
  RangeRequest range;
  std::string_view first = header.substr(0, dash), last = header.substr(dash + 1);
  if (first.empty()) {
    range.suffix = number(last);
    if (!range.suffix) return std::nullopt;
    return range;
  }
  range.first = number(first);
  if (!range.first) return std::nullopt;
  if (!last.empty()) {
    range.last = number(last);
    if (!range.last) return std::nullopt;
  }
  return range;
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
  std::tm tm{};
  std::string copy(text);
  const char* end = strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

bool etag_matches(std::string_view list, const std::string& etag) {
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string candidate = unquoted(list.substr(0, comma));
    if (candidate == "*" || candidate == etag) return true;
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
  }
  return false;
}

// RFC 9110 section 13.2.2's order: If-Match, If-Unmodified-Since, If-None-Match,
// If-Modified-Since. Returns 412 or 304, or 0 to go on.
int evaluate_conditionals(const http::Headers& headers, const ObjectInfo& info) {
  auto modified = std::chrono::time_point_cast<std::chrono::seconds>(info.last_modified);
  if (auto v = headers.get("If-Match")) {
    if (!etag_matches(*v, info.etag)) return 412;
  } else if (auto v = headers.get("If-Unmodified-Since")) {
    auto t = parse_http_date(*v);
    if (t && modified > *t) return 412;
  }
  if (auto v = headers.get("If-None-Match")) {
    if (etag_matches(*v, info.etag)) return 304;
  } else if (auto v = headers.get("If-Modified-Since")) {
    auto t = parse_http_date(*v);
    if (t && modified <= *t) return 304;
  }
  return 0;
}

void describe(http::Response& response, const ObjectInfo& info) {
  response.headers.add("ETag", quote_etag(info.etag));
  response.headers.add("Last-Modified", http_date(info.last_modified));
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
    if (!etag_matches(*v, existing->etag)) co_return from_store({Errc::conflict, ""}, true);
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
  response.headers.add("ETag", quote_etag(stored->etag));
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
      v && !etag_matches(*v, info.etag)) {
    co_return from_store({Errc::conflict, ""}, true);
  }
  if (auto v = call.request.headers.get("x-amz-copy-source-if-none-match");
      v && etag_matches(*v, info.etag)) {
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
      .element("LastModified", iso8601(stored->last_modified))
      .element("ETag", quote_etag(stored->etag))
      .close("CopyObjectResult");
  co_return xml_response(200, w.take());
}

Awaitable<S3Api::Reply> S3Api::get_object(Call& call) {
  const bool head = call.request.method == "HEAD";
  std::optional<RangeRequest> range;
  if (auto header = call.request.headers.get("Range")) range = parse_range(*header);
  auto bucket = store_->bucket(call.bucket);
  auto reader = co_await bucket->get(call.key, range);
  if (!reader && reader.error().code == Errc::invalid_argument && range) {
    auto info = co_await bucket->head(call.key);
    S3Error error{416, "InvalidRange", "The requested range is not satisfiable"};
    if (!info) co_return from_store(info.error(), true);
    // A conditional that fails takes precedence over the range.
    if (int status = evaluate_conditionals(call.request.headers, *info); status == 412) {
      co_return from_store({Errc::conflict, ""}, true);
    }
    co_return error;
  }
  if (!reader) co_return from_store(reader.error(), true);
  const ObjectInfo& info = (*reader)->info();

  http::Response response;
  if (int status = evaluate_conditionals(call.request.headers, info); status != 0) {
    if (status == 412) co_return from_store({Errc::conflict, ""}, true);
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
    response.headers.add("Content-Range", "bytes " + std::to_string(r.first()) + "-" +
                                              std::to_string(r.first() + r.length() - 1) + "/" +
                                              std::to_string(info.size));
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
