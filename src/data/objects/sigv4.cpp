#include "data/objects/sigv4.h"

#include <algorithm>
#include <ctime>

#include "runtime/digest.h"
#include "runtime/hex.h"
#include "runtime/http_types.h"

namespace stoa::objects::sigv4 {

namespace {

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// Trims and collapses runs of spaces, as SigV4's canonical header values require.
std::string canonical_value(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string uri_encode(std::string_view bytes, bool encode_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (char c : bytes) {
    if (unreserved(c) || (c == '/' && !encode_slash)) {
      out += c;
    } else {
      auto b = static_cast<unsigned char>(c);
      out += '%';
      out += digits[b >> 4];
      out += digits[b & 15];
    }
  }
  return out;
}

std::string canonical_uri(std::string_view raw_path) {
  if (raw_path.empty()) return "/";
  auto decoded = http::percent_decode(raw_path);
  if (!decoded) return {};
  return uri_encode(*decoded, false);
}

std::string canonical_query(std::string_view raw_query, std::string_view skip) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!raw_query.empty()) {
    auto amp = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, amp);
    raw_query.remove_prefix(amp == std::string_view::npos ? raw_query.size() : amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto name = http::percent_decode(pair.substr(0, eq));
    auto value = http::percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!name || !value) continue;
    if (!skip.empty() && *name == skip) continue;
    pairs.emplace_back(uri_encode(*name, true), uri_encode(*value, true));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::pair<std::string, std::string> canonical_request(const CanonicalRequest& request) {
  std::vector<Header> headers = request.headers;
  std::stable_sort(headers.begin(), headers.end(),
                   [](const Header& a, const Header& b) { return a.name < b.name; });
  std::string canonical_headers, signed_headers;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].name == headers[i - 1].name) {
      // Repeated fields join with ',' on one line.
      canonical_headers.back() = ',';
      canonical_headers += canonical_value(headers[i].value) + '\n';
      continue;
    }
    canonical_headers += headers[i].name + ':' + canonical_value(headers[i].value) + '\n';
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += headers[i].name;
  }
  std::string text = request.method + '\n' + canonical_uri(request.raw_path) + '\n' +
                     canonical_query(request.raw_query, request.skip_query_parameter) + '\n' +
                     canonical_headers + '\n' + signed_headers + '\n' + request.payload_hash;
  return {std::move(text), std::move(signed_headers)};
}

std::string amz_date(std::chrono::system_clock::time_point time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[20];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

std::string scope(std::string_view date8, std::string_view region, std::string_view service) {
  return std::string(date8) + '/' + std::string(region) + '/' + std::string(service) +
         "/aws4_request";
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  return std::string(kAlgorithm) + '\n' + std::string(amz_date) + '\n' + std::string(scope) + '\n' +
         to_hex(sha256(canonical_request));
}

std::string signing_key(std::string_view secret, std::string_view date8, std::string_view region,
                        std::string_view service) {
  std::string key = hmac_sha256("AWS4" + std::string(secret), date8);
  key = hmac_sha256(key, region);
  key = hmac_sha256(key, service);
  return hmac_sha256(key, "aws4_request");
}

std::string signature(std::string_view signing_key, std::string_view string_to_sign) {
  return to_hex(hmac_sha256(signing_key, string_to_sign));
}

std::string chunk_signature(std::string_view signing_key, std::string_view amz_date,
                            std::string_view scope, std::string_view previous_signature,
                            std::string_view chunk_data) {
  std::string text = "AWS4-HMAC-SHA256-PAYLOAD\n" + std::string(amz_date) + '\n' +
                     std::string(scope) + '\n' + std::string(previous_signature) + '\n' +
                     std::string(kEmptySha256) + '\n' + to_hex(sha256(chunk_data));
  return signature(signing_key, text);
}

std::string trailer_signature(std::string_view signing_key, std::string_view amz_date,
                              std::string_view scope, std::string_view previous_signature,
                              std::string_view canonical_trailers) {
  std::string text = "AWS4-HMAC-SHA256-TRAILER\n" + std::string(amz_date) + '\n' +
                     std::string(scope) + '\n' + std::string(previous_signature) + '\n' +
                     to_hex(sha256(canonical_trailers));
  return signature(signing_key, text);
}

}  // namespace stoa::objects::sigv4
