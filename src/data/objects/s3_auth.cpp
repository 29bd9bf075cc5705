#include "data/objects/s3_auth.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <list>
#include <vector>

#include "data/objects/sigv4.h"
#include "runtime/digest.h"

namespace stoa::objects::s3 {

namespace {

using Clock = std::chrono::system_clock;

S3Error malformed_header(std::string why) {
  return {400, "AuthorizationHeaderMalformed", "The authorization header is malformed; " + why};
}
S3Error query_error(std::string why) {
  return {400, "AuthorizationQueryParametersError", std::move(why)};
}
S3Error signature_mismatch() {
  return {403, "SignatureDoesNotMatch",
          "The request signature we calculated does not match the signature you provided. "
          "Check your key and signing method."};
}

// 20240102T030405Z -> time point. Civil-date arithmetic, not timegm(): that takes the
// time-zone lock on every request.
std::optional<Clock::time_point> parse_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n, int& out) {
    auto [p, ec] = std::from_chars(text.data() + at, text.data() + at + n, out);
    return ec == std::errc() && p == text.data() + at + n;
  };
  int y, mo, d, h, mi, s;
  if (!num(0, 4, y) || !num(4, 2, mo) || !num(6, 2, d) || !num(9, 2, h) || !num(11, 2, mi) ||
      !num(13, 2, s)) {
    return std::nullopt;
  }
  std::chrono::year_month_day date{std::chrono::year(y),
                                   std::chrono::month(static_cast<unsigned>(mo)),
                                   std::chrono::day(static_cast<unsigned>(d))};
  if (!date.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  return Clock::time_point(std::chrono::sys_days(date)) + std::chrono::hours(h) +
         std::chrono::minutes(mi) + std::chrono::seconds(s);
}

struct CredentialScope {
  std::string access_key, date8, region, service, terminal;
};

std::optional<CredentialScope> parse_scope(std::string_view credential) {
  CredentialScope c;
  std::string* parts[] = {&c.access_key, &c.date8, &c.region, &c.service, &c.terminal};
  for (int i = 0; i < 5; ++i) {
    auto slash = credential.find('/');
    if ((slash == std::string_view::npos) != (i == 4)) return std::nullopt;
    *parts[i] = std::string(credential.substr(0, slash));
    credential.remove_prefix(slash == std::string_view::npos ? credential.size() : slash + 1);
  }
  return c;
}

// The common checks of both forms; fills `out` on success.
std::optional<S3Error> check_scope(const CredentialScope& scope, std::string_view amz_date,
                                   const Credentials& credentials, bool presigned,
                                   Authenticated& out) {
  auto bad = [&](std::string why) { return presigned ? query_error(why) : malformed_header(why); };
  auto secret = credentials.secrets.find(scope.access_key);
  if (secret == credentials.secrets.end()) {
    return S3Error{403, "InvalidAccessKeyId",
                   "The AWS Access Key Id you provided does not exist in our records."};
  }
  if (scope.service != "s3" || scope.terminal != "aws4_request") {
    return bad("the credential scope must end in /s3/aws4_request");
  }
  if (scope.region != credentials.region) {
    return bad("the region '" + scope.region + "' is wrong; expecting '" + credentials.region +
               "'");
  }
  if (amz_date.substr(0, 8) != scope.date8) {
    return bad("the credential date does not match the request date");
  }
  out.access_key = scope.access_key;
  out.amz_date = std::string(amz_date);
  out.scope = sigv4::scope(scope.date8, scope.region);
  // The derived key changes once a day per user: keep the last few per thread.
  struct DerivedKey {
    std::string secret, date8, region, key;
  };
  thread_local std::vector<DerivedKey> keys;
  auto cached = std::find_if(keys.begin(), keys.end(), [&](const DerivedKey& k) {
    return k.date8 == scope.date8 && k.region == scope.region && k.secret == secret->second;
  });
  if (cached == keys.end()) {
    if (keys.size() >= 64) keys.clear();
    keys.push_back({secret->second, scope.date8, scope.region,
                    sigv4::signing_key(secret->second, scope.date8, scope.region)});
    cached = keys.end() - 1;
  }
  out.signing_key = cached->key;
  return std::nullopt;
}

std::vector<sigv4::Header> signed_header_values(const http::Request& request,
                                                std::string_view signed_names,
                                                std::string* missing) {
  std::vector<sigv4::Header> headers;
  while (!signed_names.empty()) {
    auto semi = signed_names.find(';');
    std::string name(signed_names.substr(0, semi));
    signed_names.remove_prefix(semi == std::string_view::npos ? signed_names.size() : semi + 1);
    bool found = false;
    for (const auto& [n, v] : request.headers) {
      if (http::iequals(n, name)) {
        headers.push_back({name, v});
        found = true;
      }
    }
    if (!found) *missing = name;
  }
  return headers;
}

std::variant<Authenticated, S3Error> header_auth(const http::Request& request,
                                                 std::string_view authorization,
                                                 const Credentials& credentials,
                                                 Clock::time_point now) {
  authorization.remove_prefix(sigv4::kAlgorithm.size());
  std::string credential, signed_headers, signature;
  while (!authorization.empty()) {
    auto comma = authorization.find(',');
    std::string_view part = authorization.substr(0, comma);
    authorization.remove_prefix(comma == std::string_view::npos ? authorization.size() : comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) return malformed_header("expected NAME=VALUE parts");
    std::string_view name = part.substr(0, eq), value = part.substr(eq + 1);
    if (name == "Credential")
      credential = value;
    else if (name == "SignedHeaders")
      signed_headers = value;
    else if (name == "Signature")
      signature = value;
  }
  if (credential.empty() || signed_headers.empty() || signature.empty()) {
    return malformed_header("Credential, SignedHeaders and Signature are required");
  }
  auto scope = parse_scope(credential);
  if (!scope) return malformed_header("the Credential is not KEY/DATE/REGION/s3/aws4_request");

  auto date_header = request.headers.get("x-amz-date");
  if (!date_header) {
    return access_denied("AWS authentication requires a valid x-amz-date header.");
  }
  auto when = parse_amz_date(*date_header);
  if (!when) return access_denied("The x-amz-date header is not a valid date.");
  auto skew = *when > now ? *when - now : now - *when;
  if (skew > credentials.max_skew) {
    return S3Error{403, "RequestTimeTooSkewed",
                   "The difference between the request time and the server's time is too large."};
  }
  auto payload_hash = request.headers.get("x-amz-content-sha256");
  if (!payload_hash) {
    return invalid_request("Missing required header for this request: x-amz-content-sha256");
  }
  if (signed_headers.find("host") == std::string::npos) {
    return malformed_header("the host header must be signed");
  }

  Authenticated out;
  if (auto e = check_scope(*scope, *date_header, credentials, false, out)) return *e;
  std::string missing;
  auto headers = signed_header_values(request, signed_headers, &missing);
  if (!missing.empty()) return access_denied("The signed header " + missing + " is missing.");
  auto [canonical, names] = sigv4::canonical_request({
      .method = request.method,
      .raw_path = request.path,
      .raw_query = request.query,
      .skip_query_parameter = {},
      .headers = std::move(headers),
      .payload_hash = *payload_hash,
  });
  std::string expected =
      sigv4::signature(out.signing_key, sigv4::string_to_sign(out.amz_date, out.scope, canonical));
  if (!constant_time_equal(expected, signature)) return signature_mismatch();
  out.signature = std::move(signature);
  out.payload_hash = std::string(*payload_hash);
  return out;
}

std::variant<Authenticated, S3Error> query_auth(const http::Request& request,
                                                const Credentials& credentials,
                                                Clock::time_point now) {
  // The query is read once (Request::query_param would decode it again per name). Values
  // without escapes are views into it; the others are decoded into `decoded` (a list: its
  // strings never move).
  std::optional<std::string_view> algorithm, credential, date, expires, signed_headers, signature,
      content_sha256;
  std::list<std::string> decoded;
  auto decode = [&](std::string_view raw) -> std::optional<std::string_view> {
    if (raw.find('%') == std::string_view::npos) return raw;
    auto value = http::percent_decode(raw);
    if (!value) return std::nullopt;
    return decoded.emplace_back(std::move(*value));
  };
  std::string_view rest = request.query;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest.remove_prefix(amp == std::string_view::npos ? rest.size() : amp + 1);
    if (!pair.starts_with("X-Amz-")) continue;
    auto eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    auto value = decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!value) continue;
    if (name == "X-Amz-Algorithm")
      algorithm = std::move(value);
    else if (name == "X-Amz-Credential")
      credential = std::move(value);
    else if (name == "X-Amz-Date")
      date = std::move(value);
    else if (name == "X-Amz-Expires")
      expires = std::move(value);
    else if (name == "X-Amz-SignedHeaders")
      signed_headers = std::move(value);
    else if (name == "X-Amz-Signature")
      signature = std::move(value);
    else if (name == "X-Amz-Content-Sha256")
      content_sha256 = std::move(value);
  }
  if (!algorithm || *algorithm != sigv4::kAlgorithm) {
    return query_error("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  if (!credential || !date || !expires || !signed_headers || !signature) {
    return query_error(
        "Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, "
        "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
  }
  long long seconds = 0;
  auto [p, ec] = std::from_chars(expires->data(), expires->data() + expires->size(), seconds);
  if (ec != std::errc() || p != expires->data() + expires->size() || seconds < 1 ||
      seconds > 604800) {
    return query_error("X-Amz-Expires must be a number of seconds from 1 to 604800");
  }
  auto when = parse_amz_date(*date);
  if (!when)
    return query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  if (now > *when + std::chrono::seconds(seconds)) return access_denied("Request has expired");
  if (*when > now + credentials.max_skew) return access_denied("Request is not valid yet");
  auto scope = parse_scope(*credential);
  if (!scope) return query_error("X-Amz-Credential is not KEY/DATE/REGION/s3/aws4_request");

  Authenticated out;
  if (auto e = check_scope(*scope, *date, credentials, true, out)) return *e;
  std::string missing;
  auto headers = signed_header_values(request, *signed_headers, &missing);
  if (!missing.empty()) return access_denied("The signed header " + missing + " is missing.");
  out.payload_hash = content_sha256 ? *content_sha256 : std::string(sigv4::kUnsignedPayload);
  auto [canonical, names] = sigv4::canonical_request({
      .method = request.method,
      .raw_path = request.path,
      .raw_query = request.query,
      .skip_query_parameter = "X-Amz-Signature",
      .headers = std::move(headers),
      .payload_hash = out.payload_hash,
  });
  std::string expected =
      sigv4::signature(out.signing_key, sigv4::string_to_sign(out.amz_date, out.scope, canonical));
  if (!constant_time_equal(expected, *signature)) return signature_mismatch();
  out.signature = *signature;
  out.presigned = true;
  return out;
}

}  // namespace

Result<Credentials> parse_credentials(const std::vector<std::string>& entries, std::string region) {
  Credentials credentials;
  credentials.region = std::move(region);
  for (const auto& entry : entries) {
    auto colon = entry.find(':');
    if (colon == std::string::npos || colon < 3 || colon > 128 || entry.size() - colon - 1 < 8) {
      return Error{
          Errc::invalid_argument,
          "s3.credentials: each entry is \"ACCESS_KEY:SECRET\" with an access key of 3-128 "
          "characters and a secret of at least 8"};
    }
    credentials.secrets[entry.substr(0, colon)] = entry.substr(colon + 1);
  }
  if (credentials.secrets.empty()) {
    return Error{Errc::invalid_argument, "s3.credentials: at least one access key is needed"};
  }
  return credentials;
}

std::variant<Authenticated, S3Error> authenticate(const http::Request& request,
                                                  const Credentials& credentials,
                                                  Clock::time_point now) {
  auto authorization = request.headers.get("Authorization");
  if (authorization) {
    if (authorization->starts_with(std::string(sigv4::kAlgorithm) + " ")) {
      return header_auth(request, *authorization, credentials, now);
    }
    return invalid_argument("Unsupported Authorization Type; only AWS4-HMAC-SHA256 is accepted");
  }
  if (request.query.find("X-Amz-Signature=") != std::string::npos ||
      request.query.find("X-Amz-Algorithm=") != std::string::npos) {
    return query_auth(request, credentials, now);
  }
  return access_denied("Anonymous access is not allowed; sign the request (SigV4).");
}

}  // namespace stoa::objects::s3
