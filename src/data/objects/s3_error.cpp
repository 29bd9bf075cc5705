#include "data/objects/s3_error.h"

#include "data/objects/xml.h"

namespace stoa::objects::s3 {

S3Error access_denied(std::string message) {
  return {403, "AccessDenied", std::move(message)};
}
S3Error invalid_argument(std::string message) {
  return {400, "InvalidArgument", std::move(message)};
}
S3Error invalid_request(std::string message) {
  return {400, "InvalidRequest", std::move(message)};
}
S3Error malformed_xml(std::string message) {
  return {400, "MalformedXML",
          "The XML you provided was not well-formed or did not validate: " + std::move(message)};
}
S3Error not_implemented(std::string what) {
  return {501, "NotImplemented", what + " is not implemented by Stoa's S3 endpoint."};
}
S3Error no_such_bucket() {
  return {404, "NoSuchBucket", "The specified bucket does not exist."};
}
S3Error no_such_key() {
  return {404, "NoSuchKey", "The specified key does not exist."};
}
S3Error no_such_upload() {
  return {404, "NoSuchUpload", "The specified multipart upload does not exist."};
}
S3Error internal_error() {
  return {500, "InternalError", "We encountered an internal error. Please try again."};
}
S3Error entity_too_large(std::uint64_t limit) {
  return {400, "EntityTooLarge",
          "Your proposed upload exceeds the maximum allowed size (" + std::to_string(limit) +
              " bytes)."};
}

http::Response error_response(const S3Error& error, const std::string& resource,
                              const std::string& request_id, bool head_request) {
  http::Response response;
  response.status = error.status;
  response.headers.add("x-amz-request-id", request_id);
  // HEAD responses have no body; clients read the status (and this header) alone.
  if (head_request) return response;
  response.headers.add("Content-Type", "application/xml");
  xml::Writer w;
  w.open("Error")
      .element("Code", error.code)
      .element("Message", error.message)
      .element("Resource", resource)
      .element("RequestId", request_id)
      .close("Error");
  response.body = w.take();
  return response;
}

}  // namespace stoa::objects::s3
