#include "data/objects/s3_client_store.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <map>
#include <mutex>

#include "data/objects/backend.h"
#include "data/objects/presign.h"
#include "data/objects/sigv4.h"
#include "data/objects/xml.h"
#include "runtime/backend_url.h"
#include "runtime/base64.h"
#include "runtime/component.h"
#include "runtime/config.h"
#include "runtime/digest.h"
#include "runtime/hex.h"
#include "runtime/http/etag.h"
#include "runtime/http/http_date.h"
#include "runtime/http_client.h"
#include "runtime/retry.h"
#include "runtime/time_format.h"

namespace stoa::objects {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::system_clock;

// The opaque part of an ETag as a server sends it (quoted; some send it bare).
std::string opaque_etag(std::string_view text) {
  auto tag = http::parse_entity_tag(text, http::TagSyntax::lenient);
  return tag ? tag->opaque : std::string(text);
}

// The error of a non-2xx S3 response.
Error s3_error(const http::Response& response) {
  std::string code;
  if (auto doc =
          xml::parse(response.body, {.max_bytes = 64 * 1024, .max_depth = 4, .max_elements = 64})) {
    if (const auto* c = doc->child("Code")) code = c->text;
  }
  std::string message =
      "S3 answered " + std::to_string(response.status) + (code.empty() ? "" : " " + code);
  switch (response.status) {
    case 404:
      return Error{Errc::not_found, message};
    case 412:
      return Error{Errc::conflict, message};
    case 416:
      return Error{Errc::invalid_argument, message};
    default:
      break;
  }
  if (code == "BadDigest" || code == "InvalidDigest") return Error{Errc::protocol, message};
  if (code == "EntityTooLarge" || code == "MetadataTooLarge" || code == "KeyTooLongError") {
    return Error{Errc::too_large, message};
  }
  if (response.status >= 500) return Error{Errc::unavailable, message};
  return Error{Errc::invalid_argument, message};
}

ObjectInfo info_from_headers(const std::string& key, const http::Headers& headers) {
  ObjectInfo info;
  info.key = key;
  if (auto v = headers.get("Content-Length")) {
    std::from_chars(v->data(), v->data() + v->size(), info.size);
  }
  if (auto v = headers.get("Content-Range")) {  // bytes a-b/total
    auto slash = v->rfind('/');
    if (slash != std::string_view::npos) {
      std::from_chars(v->data() + slash + 1, v->data() + v->size(), info.size);
    }
  }
  info.etag = opaque_etag(headers.get("ETag").value_or(""));
  info.content_type = std::string(headers.get("Content-Type").value_or("application/octet-stream"));
  if (auto v = headers.get("Last-Modified")) {
    info.last_modified = http::parse_http_date(*v).value_or(Clock::time_point{});
  }
  for (const auto& [name, value] : headers) {
    if (name.size() > 11 && http::iequals(std::string_view(name).substr(0, 11), "x-amz-meta-")) {
      std::string lower = name.substr(11);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      info.metadata[lower] = value;
    }
  }
  return info;
}

class S3Store;

// Reads [first, first+length) in ranged GETs of at most one part each.
class RangedReader final : public ObjectReader {
 public:
  RangedReader(std::shared_ptr<S3Store> store, ObjectInfo info, std::uint64_t first,
               std::uint64_t length, bool ranged)
      : store_(std::move(store)), next_(first), remaining_(length) {
    info_ = std::move(info);
    first_ = first;
    length_ = length;
    ranged_ = ranged;
  }
  Awaitable<Result<std::size_t>> read(std::span<char> out) override;

 private:
  std::shared_ptr<S3Store> store_;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::uint64_t next_;
  std::uint64_t remaining_;  // not yet fetched
};

class S3Store final : public ObjectStore, public std::enable_shared_from_this<S3Store> {
 public:
  S3Store(S3Location location, S3ClientOptions options)
      : location_(std::move(location)),
        options_(options),
        host_(url_authority(location_.endpoint)) {
    while (location_.endpoint.ends_with('/')) location_.endpoint.pop_back();
  }

  // One signed request, retried on 5xx, throttling and transport errors.
  Awaitable<Result<http::Response>> send(std::string method, const std::string& key,
                                         std::string query, http::Headers headers,
                                         std::string body) {
    std::string path = "/" + sigv4::uri_encode(location_.bucket, true);
    if (!key.empty()) path += "/" + sigv4::uri_encode(key, false);
    std::string payload_hash = to_hex(sha256(body));
    std::string last_error;
    retry_budget_.record_request();
    Backoff backoff(retry_policy(), random_seed(), &retry_budget_);
    for (bool first = true;; first = false) {
      if (!first) {
        const auto delay = backoff.next_delay();
        if (!delay) break;
        co_await sleep(*delay);
      }
      http::ClientRequest request;
      request.method = method;
      request.url = location_.endpoint + path + (query.empty() ? "" : "?" + query);
      request.headers = headers;
      request.body = body;
      request.timeout = options_.request_timeout;
      sign(request, path, query, payload_hash);
      http::Client* client = co_await client_for_this_thread();
      Result<http::Response> response = co_await client->send(std::move(request));
      if (!response) {
        // Transport failures are worth another try: a refused or reset connection, a timeout,
        // a response cut short (protocol: a proxy or server that went away mid-answer).
        Errc code = response.error().code;
        if (code != Errc::unavailable && code != Errc::timeout && code != Errc::io &&
            code != Errc::protocol)
          co_return response;
        last_error = response.error().message;
        continue;
      }
      int status = response->status;
      if (status >= 500 || status == 429) {
        last_error = "S3 answered " + std::to_string(status);
        continue;
      }
      co_return response;
    }
    const std::uint32_t attempts = backoff.retries() + 1;
    const bool budget_spent = attempts < static_cast<std::uint32_t>(options_.max_attempts);
    co_return Error{Errc::unavailable,
                    "S3 " + method + " failed after " + std::to_string(attempts) + " attempts" +
                        (budget_spent ? " (retries paused: too many requests to this endpoint "
                                        "fail)"
                                      : "") +
                        ": " + last_error};
  }

  Awaitable<Result<ObjectInfo>> put(std::string key, ByteSource& body,
                                    PutOptions options) override {
    if (auto s = validate_key(key); !s) co_return s.error();
    if (auto s = validate_metadata(options.metadata); !s) co_return s.error();
    Result<std::string> first = co_await read_part(body);
    if (!first) co_return first.error();
    http::Headers headers;
    headers.add("Content-Type", options.content_type);
    for (const auto& [name, value] : options.metadata) headers.add("x-amz-meta-" + name, value);
    if (first->size() < options_.part_bytes) {
      if (options.if_none_match) headers.add("If-None-Match", "*");
      if (options.content_md5) headers.add("Content-MD5", base64::encode(*options.content_md5));
      std::size_t size = first->size();
      auto response = co_await send("PUT", key, "", headers, std::move(*first));
      if (!response) co_return response.error();
      if (response->status != 200) co_return s3_error(*response);
      ObjectInfo info = info_from_headers(key, response->headers);
      info.size = size;
      info.content_type = options.content_type;
      info.metadata = options.metadata;
      info.last_modified = Clock::now();
      co_return info;
    }
    co_return co_await put_multipart(std::move(key), body, std::move(options), std::move(headers),
                                     std::move(*first));
  }

  Awaitable<Result<std::unique_ptr<ObjectReader>>> get(std::string key,
                                                       std::optional<RangeRequest> range) override {
    auto info = co_await head(key);
    if (!info) co_return info.error();
    auto selected = resolve_range(info->size, range);
    if (!selected) co_return Error{Errc::invalid_argument, "the range is not satisfiable"};
    std::unique_ptr<ObjectReader> reader = std::make_unique<RangedReader>(
        shared_from_this(), std::move(*info), selected->first, selected->second, range.has_value());
    co_return std::move(reader);
  }

  Awaitable<Result<ObjectInfo>> head(std::string key) override {
    if (auto s = validate_key(key); !s) co_return s.error();
    auto response = co_await send("HEAD", key, "", {}, "");
    if (!response) co_return response.error();
    if (response->status == 404)
      co_return Error{Errc::not_found, "no such key " + quote_for_message(key)};
    if (response->status != 200) co_return s3_error(*response);
    co_return info_from_headers(key, response->headers);
  }

  Awaitable<Status> remove(std::string key) override {
    if (auto s = validate_key(key); !s) co_return s.error();
    auto response = co_await send("DELETE", key, "", {}, "");
    if (!response) co_return response.error();
    if (response->status != 204 && response->status != 200) co_return s3_error(*response);
    co_return Ok{};
  }

  Awaitable<Result<ListResult>> list(ListOptions options) override {
    std::string query =
        "list-type=2&max-keys=" + std::to_string(std::min<std::size_t>(options.max_keys, 1000));
    if (!options.prefix.empty()) query += "&prefix=" + sigv4::uri_encode(options.prefix, true);
    if (!options.delimiter.empty())
      query += "&delimiter=" + sigv4::uri_encode(options.delimiter, true);
    if (!options.start_after.empty())
      query += "&start-after=" + sigv4::uri_encode(options.start_after, true);
    auto response = co_await send("GET", "", query, {}, "");
    if (!response) co_return response.error();
    if (response->status != 200) co_return s3_error(*response);
    auto doc =
        xml::parse(response->body,
                   {.max_bytes = 16 * 1024 * 1024, .max_depth = 4, .max_elements = 10 * 1000 + 64});
    if (!doc || doc->name != "ListBucketResult")
      co_return Error{Errc::protocol, "unreadable ListObjectsV2 response"};
    ListResult result;
    for (const auto& child : doc->children) {
      if (child.name == "Contents") {
        ObjectInfo info;
        if (const auto* k = child.child("Key")) info.key = k->text;
        if (const auto* s = child.child("Size"))
          std::from_chars(s->text.data(), s->text.data() + s->text.size(), info.size);
        if (const auto* e = child.child("ETag")) info.etag = opaque_etag(e->text);
        if (const auto* m = child.child("LastModified")) {
          info.last_modified = parse_rfc3339(m->text).value_or(Clock::time_point{});
        }
        result.objects.push_back(std::move(info));
      } else if (child.name == "CommonPrefixes") {
        if (const auto* p = child.child("Prefix")) result.common_prefixes.push_back(p->text);
      } else if (child.name == "IsTruncated") {
        result.truncated = child.text == "true";
      }
    }
    if (result.truncated) {
      std::string last_key = result.objects.empty() ? "" : result.objects.back().key;
      std::string last_prefix = result.common_prefixes.empty() ? "" : result.common_prefixes.back();
      result.next_marker = std::max(last_key, last_prefix);
    }
    co_return result;
  }

  Awaitable<Result<ObjectInfo>> copy(std::string from, std::string to,
                                     std::optional<PutOptions> metadata) override {
    if (auto s = validate_key(from); !s) co_return s.error();
    if (auto s = validate_key(to); !s) co_return s.error();
    http::Headers headers;
    headers.add("x-amz-copy-source", "/" + location_.bucket + "/" + sigv4::uri_encode(from, false));
    if (metadata) {
      headers.add("x-amz-metadata-directive", "REPLACE");
      headers.add("Content-Type", metadata->content_type);
      for (const auto& [name, value] : metadata->metadata) headers.add("x-amz-meta-" + name, value);
    }
    auto response = co_await send("PUT", to, "", headers, "");
    if (!response) co_return response.error();
    if (response->status != 200) co_return s3_error(*response);
    co_return co_await head(to);
  }

  Result<std::string> presign(std::string_view method, const std::string& key,
                              std::chrono::seconds expires) const override {
    return presign_url({.method = std::string(method),
                        .base_url = location_.endpoint,
                        .bucket = location_.bucket,
                        .key = key,
                        .region = location_.region,
                        .access_key = location_.access_key,
                        .secret_key = location_.secret_key,
                        .expires = expires,
                        .now = Clock::now()});
  }

  std::size_t part_bytes() const { return options_.part_bytes; }

 private:
  void sign(http::ClientRequest& request, const std::string& path, const std::string& query,
            const std::string& payload_hash) {
    std::string date = sigv4::amz_date(Clock::now());
    std::string scope = sigv4::scope(date.substr(0, 8), location_.region);
    request.headers.set("Host", host_);
    request.headers.set("x-amz-date", date);
    request.headers.set("x-amz-content-sha256", payload_hash);
    std::vector<sigv4::Header> signed_headers;
    for (const auto& [name, value] : request.headers) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      signed_headers.push_back({std::move(lower), value});
    }
    auto [canonical, names] = sigv4::canonical_request({.method = request.method,
                                                        .raw_path = path,
                                                        .raw_query = query,
                                                        .skip_query_parameter = {},
                                                        .headers = std::move(signed_headers),
                                                        .payload_hash = payload_hash});
    std::string key = sigv4::signing_key(location_.secret_key, date.substr(0, 8), location_.region);
    std::string signature = sigv4::signature(key, sigv4::string_to_sign(date, scope, canonical));
    request.headers.set("Authorization",
                        std::string(sigv4::kAlgorithm) + " Credential=" + location_.access_key +
                            "/" + scope + ", SignedHeaders=" + names + ", Signature=" + signature);
  }

  // base_delay * 2^(retry-1) (at most 1024x), +-50% jitter, max_attempts tries in all.
  RetryPolicy retry_policy() const {
    RetryPolicy policy;
    policy.initial_delay = options_.base_delay;
    policy.max_delay = options_.base_delay * 1024;
    policy.jitter = Jitter::proportional;
    policy.spread = 0.5;
    policy.max_attempts = static_cast<std::uint32_t>(std::max(options_.max_attempts, 1));
    return policy;
  }

  Awaitable<void> sleep(std::chrono::milliseconds delay) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(delay);
    co_await timer.async_wait(asio::use_awaitable);
  }

  Awaitable<http::Client*> client_for_this_thread() {
    auto executor = co_await asio::this_coro::executor;
    auto& context = asio::query(executor, asio::execution::context);
    auto& io = static_cast<asio::io_context&>(context);
    std::lock_guard lock(clients_mutex_);
    auto& slot = clients_[&io];
    if (!slot) {
      http::ClientOptions client_options;
      client_options.max_response_bytes = options_.part_bytes + 1024 * 1024;
      client_options.request_timeout = options_.request_timeout;
      slot = std::make_unique<http::Client>(io, client_options);
    }
    co_return slot.get();
  }

  // Up to one part from `body`; shorter only at the end.
  Awaitable<Result<std::string>> read_part(ByteSource& body) {
    std::string part(options_.part_bytes, '\0');
    std::size_t filled = 0;
    while (filled < part.size()) {
      Result<std::size_t> n =
          co_await body.read(std::span<char>(part.data() + filled, part.size() - filled));
      if (!n) co_return n.error();
      if (*n == 0) break;
      filled += *n;
    }
    part.resize(filled);
    co_return part;
  }

  Awaitable<Result<ObjectInfo>> put_multipart(std::string key, ByteSource& body, PutOptions options,
                                              http::Headers headers, std::string part) {
    auto created = co_await send("POST", key, "uploads=", headers, "");
    if (!created) co_return created.error();
    if (created->status != 200) co_return s3_error(*created);
    auto doc = xml::parse(created->body);
    const xml::Element* id_element = doc ? doc->child("UploadId") : nullptr;
    if (id_element == nullptr)
      co_return Error{Errc::protocol, "no UploadId in CreateMultipartUpload's answer"};
    std::string id = id_element->text;
    std::string encoded_id = sigv4::uri_encode(id, true);
    std::vector<std::string> etags;
    std::uint64_t size = 0;
    std::optional<Error> failure;
    for (int number = 1;; ++number) {
      size += part.size();
      auto uploaded = co_await send(
          "PUT", key, "partNumber=" + std::to_string(number) + "&uploadId=" + encoded_id, {},
          std::move(part));
      if (!uploaded || uploaded->status != 200) {
        failure = uploaded ? s3_error(*uploaded) : uploaded.error();
        break;
      }
      etags.push_back(std::string(uploaded->headers.get("ETag").value_or("")));
      Result<std::string> next = co_await read_part(body);
      if (!next) {
        failure = next.error();
        break;
      }
      if (next->empty()) break;
      part = std::move(*next);
    }
    if (!failure) {
      xml::Writer w;
      w.open("CompleteMultipartUpload");
      for (std::size_t i = 0; i < etags.size(); ++i) {
        w.open("Part")
            .element("PartNumber", std::to_string(i + 1))
            .element("ETag", etags[i])
            .close("Part");
      }
      w.close("CompleteMultipartUpload");
      auto done = co_await send("POST", key, "uploadId=" + encoded_id, {}, w.take());
      if (done && done->status == 200) {
        auto result = xml::parse(done->body);
        ObjectInfo info;
        info.key = key;
        info.size = size;
        if (result) {
          if (const auto* e = result->child("ETag")) info.etag = opaque_etag(e->text);
        }
        info.content_type = options.content_type;
        info.metadata = options.metadata;
        info.last_modified = Clock::now();
        co_return info;
      }
      failure = done ? s3_error(*done) : done.error();
    }
    // Leave no parts behind on the server.
    co_await send("DELETE", key, "uploadId=" + encoded_id, {}, "");
    co_return *failure;
  }

  S3Location location_;
  S3ClientOptions options_;
  std::string host_;
  // Shared by all requests: when most of them fail, most are not retried.
  RetryBudget retry_budget_{options_.retry_budget_ratio, options_.retry_budget_reserve};
  std::mutex clients_mutex_;
  std::map<asio::io_context*, std::unique_ptr<http::Client>> clients_;
};

Awaitable<Result<std::size_t>> RangedReader::read(std::span<char> out) {
  if (pos_ == buffer_.size()) {
    if (remaining_ == 0) co_return std::size_t{0};
    std::uint64_t want = std::min<std::uint64_t>(remaining_, store_->part_bytes());
    http::Headers headers;
    headers.add("Range", "bytes=" + std::to_string(next_) + "-" + std::to_string(next_ + want - 1));
    headers.add("If-Match", "\"" + info_.etag + "\"");
    auto response = co_await store_->send("GET", info_.key, "", headers, "");
    if (!response) co_return response.error();
    if (response->status == 412)
      co_return Error{Errc::conflict, "the object changed while being read"};
    if (response->status != 206 && response->status != 200) co_return s3_error(*response);
    if (response->body.size() != want)
      co_return Error{Errc::protocol, "S3 sent another length than asked"};
    buffer_ = std::move(response->body);
    pos_ = 0;
    next_ += want;
    remaining_ -= want;
  }
  std::size_t n = std::min(out.size(), buffer_.size() - pos_);
  std::memcpy(out.data(), buffer_.data() + pos_, n);
  pos_ += n;
  co_return n;
}

}  // namespace

Result<S3Location> parse_s3_url(const std::string& url) {
  if (url_scheme(url) != "s3") return Error{Errc::invalid_argument, "objects.url is not s3://"};
  auto parsed = parse_backend_url(url);
  if (!parsed) return Error{Errc::invalid_argument, "objects.url: " + parsed.error().message};
  S3Location location;
  location.bucket = parsed->host().host;
  location.endpoint = parsed->param("endpoint").value_or("");
  if (std::string region = parsed->param("region").value_or(""); !region.empty()) {
    location.region = region;
  }
  if (location.bucket.empty() || parsed->has_userinfo || parsed->hosts.size() > 1 ||
      parsed->host().port || !parsed->path.empty()) {
    return Error{Errc::invalid_argument, "objects.url: s3://BUCKET needs a bucket name"};
  }
  // The bucket goes into every request's path (and x-amz-copy-source) as it is: the bucket
  // rule keeps "..", "." and escapes out of it, so a request cannot name another path.
  if (auto s = validate_bucket_name(location.bucket); !s) {
    return Error{Errc::invalid_argument, "objects.url: " + s.error().message};
  }
  const std::string endpoint_scheme = url_scheme(location.endpoint);
  if (endpoint_scheme != "http" && endpoint_scheme != "https") {
    return Error{Errc::invalid_argument,
                 "objects.url: s3:// needs ?endpoint=http(s)://host:port (path-style addressing)"};
  }
  return location;
}

std::shared_ptr<ObjectStore> make_s3_store(S3Location location, S3ClientOptions options) {
  return std::make_shared<S3Store>(std::move(location), options);
}

namespace {
// The access keys come from objects.access_key and objects.secret_key, not the URL.
[[maybe_unused]] const bool registered = register_store(
    "s3", [](const std::string& url, ComponentHost& host) -> Result<std::shared_ptr<ObjectStore>> {
      auto location = parse_s3_url(url);
      if (!location) {
        return Error{
            location.error().code,
            location.error().message + " (objects.url is file://DIR or s3://BUCKET?endpoint=…)"};
      }
      location->access_key = host.config().string("objects.access_key");
      location->secret_key = host.config().string("objects.secret_key");
      return make_s3_store(std::move(*location));
    });
}  // namespace

}  // namespace stoa::objects
