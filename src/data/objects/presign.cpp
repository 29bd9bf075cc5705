#include "data/objects/presign.h"

#include "data/objects/sigv4.h"
#include "runtime/backend_url.h"

namespace stoa::objects {

std::string url_authority(std::string_view base_url) {
  auto parsed = parse_backend_url(base_url);
  if (!parsed || parsed->hosts.size() != 1 || parsed->host().host.empty()) return {};
  const UrlHost& host = parsed->host();
  std::string out = host.ipv6 ? "[" + host.host + "]" : host.host;
  if (host.port) out += ":" + std::to_string(*host.port);
  return out;
}

Result<std::string> presign_url(const PresignRequest& request) {
  if (request.expires < std::chrono::seconds(1) || request.expires > std::chrono::hours(24 * 7)) {
    return Error{Errc::invalid_argument, "a presigned URL expires after 1 second to 7 days"};
  }
  std::string host = url_authority(request.base_url);
  if (host.empty()) return Error{Errc::invalid_argument, "the base URL needs scheme://host"};
  std::string base = request.base_url;
  while (base.ends_with('/')) base.pop_back();

  std::string date = sigv4::amz_date(request.now);
  std::string scope = sigv4::scope(date.substr(0, 8), request.region);
  std::string path =
      "/" + sigv4::uri_encode(request.bucket, true) + "/" + sigv4::uri_encode(request.key, false);
  std::string query =
      "X-Amz-Algorithm=" + std::string(sigv4::kAlgorithm) +
      "&X-Amz-Credential=" + sigv4::uri_encode(request.access_key + "/" + scope, true) +
      "&X-Amz-Date=" + date + "&X-Amz-Expires=" + std::to_string(request.expires.count()) +
      "&X-Amz-SignedHeaders=host";
  auto [canonical, signed_headers] = sigv4::canonical_request({
      .method = request.method,
      .raw_path = path,
      .raw_query = query,
      .skip_query_parameter = {},
      .headers = {{"host", host}},
      .payload_hash = std::string(sigv4::kUnsignedPayload),
  });
  std::string key = sigv4::signing_key(request.secret_key, date.substr(0, 8), request.region);
  std::string signature = sigv4::signature(key, sigv4::string_to_sign(date, scope, canonical));
  return base + path + "?" + query + "&X-Amz-Signature=" + signature;
}

}  // namespace stoa::objects
