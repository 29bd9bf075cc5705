#pragma once
// SigV4-signed S3 requests over raw sockets for the endpoint's system tests, signed with
// Stoa's own SigV4 code (as its S3 client signs them).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "data/objects/sigv4.h"
#include "runtime/digest.h"
#include "runtime/hex.h"
#include "support/raw_http.h"

namespace stoa::objects::s3test {

using namespace std::chrono_literals;

struct Key {
  std::string access = "stoa";
  std::string secret = "stoa-secret-key";
};

struct Signed {
  std::string head;  // request line and headers, up to and including the blank line
  std::string signature;
  std::string amz_date;
  std::string scope;
  std::string signing_key;
};

// A SigV4-signed request head for 127.0.0.1:port.
inline Signed sign(std::uint16_t port, const std::string& method, const std::string& path,
                   const std::string& query, std::vector<sigv4::Header> headers,
                   const std::string& payload_hash, const Key& key = {}) {
  Signed s;
  s.amz_date = sigv4::amz_date(std::chrono::system_clock::now());
  s.scope = sigv4::scope(s.amz_date.substr(0, 8), "us-east-1");
  headers.push_back({"host", "127.0.0.1:" + std::to_string(port)});
  headers.push_back({"x-amz-date", s.amz_date});
  headers.push_back({"x-amz-content-sha256", payload_hash});
  auto [canonical, names] = sigv4::canonical_request({.method = method,
                                                      .raw_path = path,
                                                      .raw_query = query,
                                                      .skip_query_parameter = {},
                                                      .headers = headers,
                                                      .payload_hash = payload_hash});
  s.signing_key = sigv4::signing_key(key.secret, s.amz_date.substr(0, 8), "us-east-1");
  s.signature =
      sigv4::signature(s.signing_key, sigv4::string_to_sign(s.amz_date, s.scope, canonical));
  s.head = method + " " + path + (query.empty() ? "" : "?" + query) + " HTTP/1.1\r\n";
  for (const auto& h : headers) s.head += h.name + ": " + h.value + "\r\n";
  s.head += "Authorization: AWS4-HMAC-SHA256 Credential=" + key.access + "/" + s.scope +
            ", SignedHeaders=" + names + ", Signature=" + s.signature + "\r\n";
  return s;
}

inline std::string send(std::uint16_t port, const std::string& head_without_end,
                        const std::string& body) {
  stoa::test::RawConnection connection(port);
  connection.send(head_without_end + "Content-Length: " + std::to_string(body.size()) +
                  "\r\nConnection: close\r\n\r\n" + body);
  return connection.read_response(10s);
}

// A request with a body whose SHA-256 is signed.
inline std::string request(std::uint16_t port, const std::string& method, const std::string& path,
                           const std::string& query = "", const std::string& body = "",
                           const Key& key = {}) {
  Signed s = sign(port, method, path, query, {}, to_hex(sha256(body)), key);
  return send(port, s.head, body);
}

inline std::string code_of(const std::string& response) {
  std::string body = stoa::test::body_of(response);
  auto start = body.find("<Code>"), end = body.find("</Code>");
  if (start == std::string::npos || end == std::string::npos) return "";
  return body.substr(start + 6, end - start - 6);
}

// The aws-chunked encoding of `data` in chunks of `chunk` bytes, each signed.
inline std::string signed_chunks(const Signed& s, const std::string& data, std::size_t chunk) {
  std::string body, previous = s.signature;
  for (std::size_t at = 0;; at += chunk) {
    std::string piece = data.substr(std::min(at, data.size()), chunk);
    std::string signature =
        sigv4::chunk_signature(s.signing_key, s.amz_date, s.scope, previous, piece);
    char size[32];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    body += std::string(size) + ";chunk-signature=" + signature + "\r\n" + piece + "\r\n";
    previous = signature;
    if (piece.empty()) break;
  }
  return body;
}

}  // namespace stoa::objects::s3test
