#include "data/objects/sigv4.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <optional>

#include "runtime/digest.h"
#include "runtime/hex.h"
#include "runtime/http_types.h"

namespace stoa::objects::sigv4 {

namespace {

// RFC 3986's unreserved bytes, as a table: the encoders test every byte of a request's
// path and query.
constexpr std::array<bool, 256> kUnreserved = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[static_cast<std::size_t>(c)] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                         (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                                         c == '.' || c == '~';
  }
  return table;
}();

bool unreserved(char c) {
  return kUnreserved[static_cast<unsigned char>(c)];
}

int upper_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether a raw query component is already what decoding and re-encoding would give:
// only unreserved bytes, and escapes in upper-case hex of bytes that must be escaped. Most
// components are (every one a presigned URL carries), and they skip both copies.
bool already_canonical(std::string_view raw) {
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (unreserved(raw[i])) continue;
    if (raw[i] != '%' || i + 2 >= raw.size()) return false;
    int hi = upper_hex_value(raw[i + 1]), lo = upper_hex_value(raw[i + 2]);
    if (hi < 0 || lo < 0 || unreserved(static_cast<char>(hi * 16 + lo))) return false;
    i += 2;
  }
  return true;
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
  std::size_t i = 0;
  while (i < bytes.size()) {
    // Runs of bytes that stay as they are go in with one append.
    std::size_t run = i;
    while (run < bytes.size() && (unreserved(bytes[run]) || (bytes[run] == '/' && !encode_slash))) {
      ++run;
    }
    out.append(bytes.data() + i, run - i);
    if (run == bytes.size()) break;
    auto b = static_cast<unsigned char>(bytes[run]);
    const char escape[3] = {'%', digits[b >> 4], digits[b & 15]};
    out.append(escape, 3);
    i = run + 1;
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
  // Views into the raw query where a component is canonical already, into `recoded` where
  // it had to be decoded and re-encoded (reserved once for every component, so that its
  // strings never move).
  const std::size_t components = 2 * (std::count(raw_query.begin(), raw_query.end(), '&') + 1);
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  pairs.reserve(components / 2);
  std::vector<std::string> recoded;
  auto canonical = [&](std::string_view raw) -> std::optional<std::string_view> {
    if (already_canonical(raw)) return raw;
    auto decoded = http::percent_decode(raw);
    if (!decoded) return std::nullopt;
    if (recoded.capacity() == 0) recoded.reserve(components);
    return recoded.emplace_back(uri_encode(*decoded, true));
  };
  // A canonical name decodes to `skip` exactly when it equals skip's encoding.
  const std::string skip_encoded = uri_encode(skip, true);
  while (!raw_query.empty()) {
    auto amp = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, amp);
    raw_query.remove_prefix(amp == std::string_view::npos ? raw_query.size() : amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto name = canonical(pair.substr(0, eq));
    auto value = canonical(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!name || !value) continue;
    if (!skip.empty() && *name == skip_encoded) continue;
    pairs.emplace_back(*name, *value);
  }
  std::sort(pairs.begin(), pairs.end());
  std::size_t length = 0;
  for (const auto& [name, value] : pairs) length += name.size() + value.size() + 2;
  std::string out;
  out.reserve(length);
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
      canonical_headers += canonical_value(headers[i].value);
      canonical_headers += '\n';
      continue;
    }
    canonical_headers += headers[i].name;
    canonical_headers += ':';
    canonical_headers += canonical_value(headers[i].value);
    canonical_headers += '\n';
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += headers[i].name;
  }
  std::string uri = canonical_uri(request.raw_path);
  std::string query = canonical_query(request.raw_query, request.skip_query_parameter);
  std::string text;
  text.reserve(request.method.size() + uri.size() + query.size() + canonical_headers.size() +
               signed_headers.size() + request.payload_hash.size() + 5);
  for (std::string_view part : {request.method, std::string_view(uri), std::string_view(query),
                                std::string_view(canonical_headers)}) {
    text += part;
    text += '\n';
  }
  text += signed_headers;
  text += '\n';
  text += request.payload_hash;
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
  std::string text;
  text.reserve(kAlgorithm.size() + amz_date.size() + scope.size() + 67);
  for (std::string_view part : {kAlgorithm, amz_date, scope}) {
    text += part;
    text += '\n';
  }
  text += to_hex(sha256(canonical_request));
  return text;
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
