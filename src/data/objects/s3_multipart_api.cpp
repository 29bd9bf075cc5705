// Multipart uploads of the S3 endpoint: Create, UploadPart, Complete, Abort, ListParts.
#include <charconv>

#include "data/objects/s3_api.h"
#include "data/objects/s3_payload.h"
#include "data/objects/xml.h"
#include "runtime/http/etag.h"
#include "runtime/time_format.h"

namespace stoa::objects::s3 {

using namespace detail;

namespace {

std::optional<int> parse_int(std::string_view text) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

S3Api::Reply S3Api::create_upload(Call& call) {
  auto parsed = put_options(call.request);
  if (auto* error = std::get_if<S3Error>(&parsed)) return *error;
  auto id = store_->create_upload(call.bucket, call.key, std::get<PutOptions>(parsed));
  if (!id) return from_store(id.error(), false);
  xml::Writer w;
  w.open("InitiateMultipartUploadResult", kXmlns)
      .element("Bucket", call.bucket)
      .element("Key", call.key)
      .element("UploadId", *id)
      .close("InitiateMultipartUploadResult");
  return xml_response(200, w.take());
}

Awaitable<S3Api::Reply> S3Api::upload_part(Call& call) {
  if (call.request.headers.has("x-amz-copy-source")) co_return not_implemented("UploadPartCopy");
  auto upload = store_->upload(call.get("uploadId"));
  if (!upload || upload->bucket != call.bucket || upload->key != call.key)
    co_return no_such_upload();
  auto number = parse_int(call.get("partNumber"));
  if (!number || *number < 1 || *number > 10000) {
    co_return invalid_argument("Part number must be an integer between 1 and 10000, inclusive");
  }
  std::optional<std::string> content_md5;
  if (auto parsed = put_options(call.request); auto* error = std::get_if<S3Error>(&parsed)) {
    co_return *error;
  } else {
    content_md5 = std::get<PutOptions>(parsed).content_md5;
  }
  if (auto error = check_declared_size(call.request, options_.max_object_bytes)) co_return *error;
  Failure failure = std::make_shared<std::optional<S3Error>>();
  auto base = request_body(call.request, failure);
  auto source = payload_source(call.request, call.auth, *base, failure);
  if (auto* error = std::get_if<S3Error>(&source)) co_return *error;
  auto part = co_await store_->upload_part(upload->id, *number, *std::get<0>(source), content_md5);
  if (!part) {
    if (*failure) co_return **failure;
    if (part.error().code == Errc::not_found) co_return no_such_upload();
    co_return from_store(part.error(), true);
  }
  http::Response response;
  response.headers.add("ETag", http::strong_etag(part->etag));
  co_return response;
}

Awaitable<S3Api::Reply> S3Api::complete_upload(Call& call) {
  auto upload = store_->upload(call.get("uploadId"));
  if (!upload || upload->bucket != call.bucket || upload->key != call.key)
    co_return no_such_upload();
  auto doc =
      xml::parse(call.request.body,
                 {.max_bytes = 2 * 1024 * 1024, .max_depth = 4, .max_elements = 3 * 10000 + 8});
  if (!doc || doc->name != "CompleteMultipartUpload") {
    co_return malformed_xml(doc ? "expected CompleteMultipartUpload" : doc.error().message);
  }
  std::vector<std::pair<int, std::string>> parts;
  for (const auto& child : doc->children) {
    if (child.name != "Part") continue;
    const auto* number = child.child("PartNumber");
    const auto* etag = child.child("ETag");
    auto n = number ? parse_int(number->text) : std::nullopt;
    if (!n || etag == nullptr) co_return malformed_xml("each Part needs a PartNumber and an ETag");
    // Clients send the part's tag as they got it (quoted) or bare: either names the part.
    auto tag = http::parse_entity_tag(etag->text, http::TagSyntax::lenient);
    parts.emplace_back(*n, tag ? tag->opaque : etag->text);
  }
  if (parts.empty()) co_return malformed_xml("no Part elements");
  auto done =
      co_await store_->complete_upload(upload->id, std::move(parts), options_.min_part_bytes);
  if (!done) {
    const std::string& m = done.error().message;
    if (m.starts_with("InvalidPartOrder")) {
      co_return S3Error{400, "InvalidPartOrder",
                        "The list of parts was not in ascending order. Parts must be ordered by "
                        "part number."};
    }
    if (m.starts_with("InvalidPart")) {
      co_return S3Error{400, "InvalidPart",
                        "One or more of the specified parts could not be found or its ETag did "
                        "not match."};
    }
    if (m.starts_with("EntityTooSmall")) {
      co_return S3Error{400, "EntityTooSmall",
                        "Your proposed upload is smaller than the minimum allowed object size."};
    }
    if (done.error().code == Errc::not_found) co_return no_such_upload();
    co_return from_store(done.error(), true);
  }
  xml::Writer w;
  w.open("CompleteMultipartUploadResult", kXmlns)
      .element("Location", "/" + call.bucket + "/" + call.key)
      .element("Bucket", call.bucket)
      .element("Key", call.key)
      .element("ETag", http::strong_etag(done->etag))
      .close("CompleteMultipartUploadResult");
  co_return xml_response(200, w.take());
}

S3Api::Reply S3Api::abort_upload(Call& call) {
  auto upload = store_->upload(call.get("uploadId"));
  if (!upload || upload->bucket != call.bucket || upload->key != call.key) return no_such_upload();
  if (auto s = store_->abort_upload(upload->id); !s) return internal_error();
  http::Response response;
  response.status = 204;
  return response;
}

S3Api::Reply S3Api::list_parts(Call& call) {
  auto upload = store_->upload(call.get("uploadId"));
  if (!upload || upload->bucket != call.bucket || upload->key != call.key) return no_such_upload();
  auto parts = store_->list_parts(upload->id);
  if (!parts) return no_such_upload();
  int marker =
      call.has("part-number-marker") ? parse_int(call.get("part-number-marker")).value_or(-1) : 0;
  int max = call.has("max-parts") ? parse_int(call.get("max-parts")).value_or(-1) : 1000;
  if (marker < 0 || max < 0)
    return invalid_argument("part-number-marker and max-parts are integers");
  max = std::min(max, 1000);
  xml::Writer w;
  w.open("ListPartsResult", kXmlns)
      .element("Bucket", call.bucket)
      .element("Key", call.key)
      .element("UploadId", upload->id)
      .element("PartNumberMarker", std::to_string(marker))
      .element("MaxParts", std::to_string(max))
      .element("StorageClass", "STANDARD");
  int listed = 0, last = 0;
  bool truncated = false;
  for (const auto& p : *parts) {
    if (p.number <= marker) continue;
    if (listed == max) {
      truncated = true;
      break;
    }
    w.open("Part")
        .element("PartNumber", std::to_string(p.number))
        .element("LastModified", rfc3339_ms(p.last_modified))
        .element("ETag", http::strong_etag(p.etag))
        .element("Size", std::to_string(p.size))
        .close("Part");
    ++listed;
    last = p.number;
  }
  w.element("IsTruncated", truncated ? "true" : "false");
  if (truncated) w.element("NextPartNumberMarker", std::to_string(last));
  w.close("ListPartsResult");
  return xml_response(200, w.take());
}

// Uploads in progress, up to 1000 after key-marker (upload-id-marker paging within one key
// and delimiter grouping are not offered).
S3Api::Reply S3Api::list_uploads(Call& call) {
  if (!store_->bucket_exists(call.bucket)) return no_such_bucket();
  if (!call.get("upload-id-marker").empty() || !call.get("delimiter").empty()) {
    return not_implemented("ListMultipartUploads with upload-id-marker or a delimiter");
  }
  auto uploads = store_->list_uploads(call.bucket, call.get("prefix"), 100000);
  if (!uploads) return internal_error();
  std::string key_marker = call.get("key-marker");
  std::erase_if(*uploads,
                [&](const UploadInfo& u) { return u.key <= key_marker && !key_marker.empty(); });
  bool truncated = uploads->size() > 1000;
  if (truncated) uploads->resize(1000);
  xml::Writer w;
  w.open("ListMultipartUploadsResult", kXmlns)
      .element("Bucket", call.bucket)
      .element("KeyMarker", key_marker)
      .element("UploadIdMarker", "")
      .element("Prefix", call.get("prefix"))
      .element("MaxUploads", "1000")
      .element("IsTruncated", truncated ? "true" : "false");
  for (const auto& u : *uploads) {
    w.open("Upload")
        .element("Key", u.key)
        .element("UploadId", u.id)
        .element("StorageClass", "STANDARD")
        .element("Initiated", rfc3339_ms(u.initiated))
        .close("Upload");
  }
  w.close("ListMultipartUploadsResult");
  return xml_response(200, w.take());
}

}  // namespace stoa::objects::s3
