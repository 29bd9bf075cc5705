#include "data/objects/s3_api.h"

#include <charconv>
#include <span>

#include "data/objects/file_layout.h"
#include "data/objects/s3_payload.h"
#include "data/objects/sigv4.h"
#include "data/objects/xml.h"
#include "runtime/base64.h"
#include "runtime/digest.h"
#include "runtime/http/etag.h"
#include "runtime/time_format.h"

namespace stoa::objects::s3 {

namespace detail {

http::Response xml_response(int status, std::string body) {
  http::Response response;
  response.status = status;
  response.headers.add("Content-Type", "application/xml");
  response.body = std::move(body);
  return response;
}

std::variant<PutOptions, S3Error> put_options(const http::Request& request) {
  PutOptions options;
  if (auto type = request.headers.get("Content-Type")) options.content_type = std::string(*type);
  for (const auto& [name, value] : request.headers) {
    if (name.size() > 11 && http::iequals(std::string_view(name).substr(0, 11), "x-amz-meta-")) {
      std::string lower = name.substr(11);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto& slot = options.metadata[lower];
      slot = slot.empty() ? value : slot + "," + value;
    }
  }
  if (auto s = validate_metadata(options.metadata); !s) {
    if (s.error().code == Errc::too_large) {
      return S3Error{400, "MetadataTooLarge",
                     "Your metadata headers exceed the maximum allowed metadata size (2 KB)."};
    }
    return invalid_argument(s.error().message);
  }
  if (auto md5_header = request.headers.get("Content-MD5")) {
    auto raw = base64::decode(*md5_header);
    if (!raw || raw->size() != 16) {
      return S3Error{400, "InvalidDigest", "The Content-MD5 you specified was invalid."};
    }
    options.content_md5 = *raw;
  }
  return options;
}

std::optional<S3Error> check_declared_size(const http::Request& request, std::uint64_t max) {
  auto declared = request.headers.get("x-amz-decoded-content-length");
  if (!declared) declared = request.headers.get("Content-Length");
  if (!declared) return std::nullopt;  // chunked: the stream's limit applies as it comes
  std::uint64_t size = 0;
  auto [p, ec] = std::from_chars(declared->data(), declared->data() + declared->size(), size);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && size > max)) {
    return entity_too_large(max);
  }
  return std::nullopt;  // a malformed length is the payload reader's to refuse
}

std::optional<S3Error> check_key(const std::string& key) {
  auto too_long = [] { return S3Error{400, "KeyTooLongError", "Your key is too long."}; };
  if (auto s = validate_key(key); !s) {
    if (s.error().code == Errc::too_large) return too_long();
    return invalid_argument("Object key is invalid: " + s.error().message + ".");
  }
  if (!layout::key_fits(key)) return too_long();
  return std::nullopt;
}

std::optional<S3Error> check_bucket(std::string_view bucket) {
  if (validate_bucket_name(bucket)) return std::nullopt;
  return S3Error{400, "InvalidBucketName", "The specified bucket is not valid."};
}

S3Error from_store(const Error& error, bool object) {
  switch (error.code) {
    case Errc::not_found:
      if (error.message.starts_with("no such bucket")) return no_such_bucket();
      return object ? no_such_key() : no_such_bucket();
    case Errc::conflict:
      return {412, "PreconditionFailed",
              "At least one of the pre-conditions you specified did not hold."};
    case Errc::protocol:
      return {400, "BadDigest", "The Content-MD5 you specified did not match what we received."};
    case Errc::invalid_argument:
      return invalid_argument(error.message);
    default:
      return internal_error();
  }
}

}  // namespace detail

using namespace detail;

namespace {

// Query parameters, decoded; a name without '=' maps to "".
std::map<std::string, std::string, std::less<>> parse_query(std::string_view query) {
  std::map<std::string, std::string, std::less<>> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    // Presigned URLs' X-Amz-* parameters are read by authenticate(), not by operations.
    if (pair.empty() || pair.starts_with("X-Amz-")) continue;
    auto eq = pair.find('=');
    auto name = http::percent_decode(pair.substr(0, eq));
    auto value = http::percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (name && value) out.emplace(std::move(*name), std::move(*value));
  }
  return out;
}

std::string url_encode_if(bool encode, const std::string& text) {
  return encode ? sigv4::uri_encode(text, false) : text;
}

}  // namespace

std::uint64_t route_body_limit(std::uint64_t max_object_bytes) {
  // aws-chunked costs about 90 bytes per chunk (64 KiB or more): 1/512 covers it well.
  return max_object_bytes + max_object_bytes / 512 + 64 * 1024;
}

S3Api::S3Api(std::shared_ptr<FileStore> store, ApiOptions options)
    : store_(std::move(store)), options_(std::move(options)) {}

Awaitable<http::Response> S3Api::handle(http::Request& request) {
  const bool head = request.method == "HEAD";
  auto fail = [&](const S3Error& error) {
    return error_response(error, request.path, request.request_id, head);
  };
  // Path-style: /BUCKET/KEY. The key is everything after the bucket's slash, decoded.
  std::string_view path = request.path;
  path.remove_prefix(1);
  auto slash = path.find('/');
  auto bucket = http::percent_decode(path.substr(0, slash));
  std::optional<std::string> key = std::string();
  if (slash != std::string_view::npos) key = http::percent_decode(path.substr(slash + 1));
  if (!bucket || !key) co_return fail(invalid_request("The request path has a malformed escape."));

  auto verdict = authenticate(request, options_.credentials, std::chrono::system_clock::now());
  if (auto* error = std::get_if<S3Error>(&verdict)) co_return fail(*error);
  Call call{.request = request,
            .bucket = std::move(*bucket),
            .key = std::move(*key),
            .query = parse_query(request.query),
            .auth = std::move(std::get<Authenticated>(verdict))};
  Reply reply = co_await dispatch(call);
  if (auto* error = std::get_if<S3Error>(&reply)) co_return fail(*error);
  auto& response = std::get<http::Response>(reply);
  response.headers.add("x-amz-request-id", request.request_id);
  co_return std::move(response);
}

Awaitable<S3Api::Reply> S3Api::dispatch(Call& call) {
  const std::string& method = call.request.method;
  if (call.bucket.empty()) {
    if (method == "GET" || method == "HEAD") co_return list_buckets(call);
    co_return S3Error{405, "MethodNotAllowed", "The specified method is not allowed here."};
  }
  // Every bucket and object operation below names this bucket (decoded, so "%2e%2e" is ".."
  // here): it is checked once, before any of them can turn it into a path.
  if (auto error = check_bucket(call.bucket)) co_return *error;
  static const char* const unsupported[] = {"acl",
                                            "policy",
                                            "cors",
                                            "lifecycle",
                                            "tagging",
                                            "encryption",
                                            "website",
                                            "logging",
                                            "notification",
                                            "replication",
                                            "object-lock",
                                            "retention",
                                            "legal-hold",
                                            "ownershipControls",
                                            "publicAccessBlock",
                                            "requestPayment",
                                            "accelerate",
                                            "analytics",
                                            "inventory",
                                            "metrics",
                                            "intelligent-tiering",
                                            "torrent",
                                            "attributes",
                                            "select",
                                            "restore",
                                            "versions"};
  for (const char* name : call.query.empty() ? std::span<const char* const>() : unsupported) {
    if (call.has(name)) co_return not_implemented(std::string("The ?") + name + " subresource");
  }
  if (call.key.empty()) {
    if (method == "PUT") {
      // PUT routes stream their body: CreateBucketConfiguration is read here, bounded.
      Failure failure = std::make_shared<std::optional<S3Error>>();
      auto source = request_body(call.request, failure);
      Result<std::string> body = co_await read_all(*source, 64 * 1024);
      if (!body) {
        if (*failure) co_return **failure;
        co_return malformed_xml("the body is too large");
      }
      co_return create_bucket(call, *body);
    }
    if (method == "HEAD") co_return head_bucket(call);
    if (method == "DELETE") co_return delete_bucket(call);
    if (method == "POST" && call.has("delete")) co_return co_await delete_objects(call);
    if (method == "GET") {
      if (call.has("location")) co_return bucket_location(call);
      if (call.has("versioning")) {
        if (!store_->bucket_exists(call.bucket)) co_return no_such_bucket();
        xml::Writer w;
        w.open("VersioningConfiguration", kXmlns).close("VersioningConfiguration");
        co_return xml_response(200, w.take());
      }
      if (call.has("uploads")) co_return list_uploads(call);
      co_return co_await list_objects(call, call.get("list-type") == "2");
    }
    co_return S3Error{405, "MethodNotAllowed", "The specified method is not allowed here."};
  }
  if (auto error = check_key(call.key)) co_return *error;
  if (method == "PUT") {
    if (call.has("uploadId")) co_return co_await upload_part(call);
    if (call.request.headers.has("x-amz-copy-source")) co_return co_await copy_object(call);
    co_return co_await put_object(call);
  }
  if (method == "GET" || method == "HEAD") {
    if (call.has("uploadId")) co_return list_parts(call);
    co_return co_await get_object(call);
  }
  if (method == "DELETE") {
    if (call.has("uploadId")) co_return abort_upload(call);
    co_return co_await delete_object(call);
  }
  if (method == "POST") {
    if (call.has("uploads")) co_return create_upload(call);
    if (call.has("uploadId")) co_return co_await complete_upload(call);
  }
  co_return S3Error{405, "MethodNotAllowed", "The specified method is not allowed here."};
}

S3Api::Reply S3Api::list_buckets(Call&) {
  auto buckets = store_->list_buckets();
  if (!buckets) return internal_error();
  xml::Writer w;
  w.open("ListAllMyBucketsResult", kXmlns)
      .open("Owner")
      .element("ID", "stoa")
      .element("DisplayName", "stoa")
      .close("Owner")
      .open("Buckets");
  for (const auto& b : *buckets) {
    w.open("Bucket")
        .element("Name", b.name)
        .element("CreationDate", rfc3339_ms(b.created))
        .close("Bucket");
  }
  w.close("Buckets").close("ListAllMyBucketsResult");
  return xml_response(200, w.take());
}

S3Api::Reply S3Api::create_bucket(Call& call, const std::string& body) {
  if (!body.empty()) {
    auto doc = xml::parse(body, {.max_bytes = 4096, .max_depth = 4, .max_elements = 16});
    if (!doc || doc->name != "CreateBucketConfiguration") {
      return malformed_xml(doc ? "expected CreateBucketConfiguration" : doc.error().message);
    }
    if (const auto* location = doc->child("LocationConstraint");
        location && !location->text.empty() && location->text != options_.credentials.region) {
      return S3Error{400, "InvalidLocationConstraint",
                     "The specified location-constraint is not valid; this endpoint serves " +
                         options_.credentials.region + "."};
    }
  }
  auto created = store_->create_bucket(call.bucket);
  if (!created) {
    if (created.error().code == Errc::conflict) {
      return S3Error{409, "BucketAlreadyOwnedByYou",
                     "Your previous request to create the named bucket succeeded and you already "
                     "own it."};
    }
    return internal_error();
  }
  http::Response response;
  response.headers.add("Location", "/" + call.bucket);
  return response;
}

S3Api::Reply S3Api::head_bucket(Call& call) {
  if (!store_->bucket_exists(call.bucket)) return no_such_bucket();
  http::Response response;
  response.headers.add("x-amz-bucket-region", options_.credentials.region);
  return response;
}

S3Api::Reply S3Api::delete_bucket(Call& call) {
  auto deleted = store_->delete_bucket(call.bucket);
  if (!deleted) {
    if (deleted.error().code == Errc::conflict) {
      return S3Error{409, "BucketNotEmpty", "The bucket you tried to delete is not empty."};
    }
    return from_store(deleted.error(), false);
  }
  http::Response response;
  response.status = 204;
  return response;
}

S3Api::Reply S3Api::bucket_location(Call& call) {
  if (!store_->bucket_exists(call.bucket)) return no_such_bucket();
  std::string region =
      options_.credentials.region == "us-east-1" ? "" : options_.credentials.region;
  xml::Writer w;
  w.open("LocationConstraint", kXmlns);
  std::string body = w.take() + xml::escape(region) + "</LocationConstraint>";
  return xml_response(200, std::move(body));
}

Awaitable<S3Api::Reply> S3Api::list_objects(Call& call, bool v2) {
  ListOptions options;
  options.prefix = call.get("prefix");
  options.delimiter = call.get("delimiter");
  std::string max_keys = call.has("max-keys") ? call.get("max-keys") : "1000";
  long long max = 0;
  auto [p, ec] = std::from_chars(max_keys.data(), max_keys.data() + max_keys.size(), max);
  if (ec != std::errc() || p != max_keys.data() + max_keys.size() || max < 0) {
    co_return invalid_argument("max-keys must be a non-negative integer");
  }
  options.max_keys = static_cast<std::size_t>(std::min<long long>(max, 1000));
  const bool encode = call.get("encoding-type") == "url";
  if (call.has("encoding-type") && !encode)
    co_return invalid_argument("Invalid Encoding Method specified in Request");
  std::string token = call.get("continuation-token");
  if (v2) {
    if (call.has("continuation-token")) {
      auto marker = base64::decode(token);
      if (!marker || !marker->starts_with("k:")) {
        co_return invalid_argument("The continuation token provided is incorrect");
      }
      options.start_after = marker->substr(2);
    } else {
      options.start_after = call.get("start-after");
    }
  } else {
    options.start_after = call.get("marker");
  }
  auto listed = co_await store_->bucket(call.bucket)->list(options);
  if (!listed) co_return from_store(listed.error(), false);

  xml::Writer w;
  w.open("ListBucketResult", kXmlns)
      .element("Name", call.bucket)
      .element("Prefix", url_encode_if(encode, options.prefix));
  if (v2) {
    if (call.has("continuation-token")) w.element("ContinuationToken", token);
    if (call.has("start-after"))
      w.element("StartAfter", url_encode_if(encode, call.get("start-after")));
    w.element("KeyCount", std::to_string(listed->objects.size() + listed->common_prefixes.size()));
  } else {
    w.element("Marker", url_encode_if(encode, options.start_after));
  }
  w.element("MaxKeys", std::to_string(options.max_keys));
  if (!options.delimiter.empty()) w.element("Delimiter", url_encode_if(encode, options.delimiter));
  w.element("IsTruncated", listed->truncated ? "true" : "false");
  if (listed->truncated) {
    if (v2) {
      w.element("NextContinuationToken", base64::encode("k:" + listed->next_marker));
    } else {
      w.element("NextMarker", url_encode_if(encode, listed->next_marker));
    }
  }
  if (encode) w.element("EncodingType", "url");
  for (const auto& o : listed->objects) {
    w.open("Contents")
        .element("Key", url_encode_if(encode, o.key))
        .element("LastModified", rfc3339_ms(o.last_modified))
        .element("ETag", http::strong_etag(o.etag))
        .element("Size", std::to_string(o.size))
        .element("StorageClass", "STANDARD");
    if (!v2 || call.get("fetch-owner") == "true") {
      w.open("Owner").element("ID", "stoa").element("DisplayName", "stoa").close("Owner");
    }
    w.close("Contents");
  }
  for (const auto& prefix : listed->common_prefixes) {
    w.open("CommonPrefixes")
        .element("Prefix", url_encode_if(encode, prefix))
        .close("CommonPrefixes");
  }
  w.close("ListBucketResult");
  co_return xml_response(200, w.take());
}

Awaitable<S3Api::Reply> S3Api::delete_objects(Call& call) {
  if (!store_->bucket_exists(call.bucket)) co_return no_such_bucket();
  auto doc =
      xml::parse(call.request.body,
                 {.max_bytes = 2 * 1024 * 1024, .max_depth = 4, .max_elements = 4 * 1000 + 8});
  if (!doc || doc->name != "Delete") {
    co_return malformed_xml(doc ? "expected a Delete element" : doc.error().message);
  }
  bool quiet = false;
  if (const auto* q = doc->child("Quiet")) quiet = q->text == "true";
  std::vector<std::string> keys;
  for (const auto& child : doc->children) {
    if (child.name != "Object") continue;
    const auto* key = child.child("Key");
    if (key == nullptr) co_return malformed_xml("an Object without a Key");
    keys.push_back(key->text);
  }
  if (keys.empty() || keys.size() > 1000) co_return malformed_xml("1 to 1000 objects per request");
  auto bucket = store_->bucket(call.bucket);
  xml::Writer w;
  w.open("DeleteResult", kXmlns);
  for (const auto& key : keys) {
    std::optional<S3Error> error = check_key(key);
    if (!error) {
      Status removed = co_await bucket->remove(key);
      if (!removed) error = from_store(removed.error(), true);
    }
    if (error) {
      w.open("Error")
          .element("Key", key)
          .element("Code", error->code)
          .element("Message", error->message)
          .close("Error");
    } else if (!quiet) {
      w.open("Deleted").element("Key", key).close("Deleted");
    }
  }
  w.close("DeleteResult");
  co_return xml_response(200, w.take());
}

}  // namespace stoa::objects::s3
