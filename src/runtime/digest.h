#pragma once
// Hashes, MACs and checksums: MD5 (S3 ETags, Content-MD5), SHA-256 and HMAC-SHA256 (SigV4,
// migration checksums), SHA-1, CRC32, CRC32C and CRC64/NVME (the x-amz-checksum-* values that
// AWS SDKs send). OpenSSL stays in digest.cpp; hex is runtime/hex.h, base64 runtime/base64.h.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace stoa {

// An incremental hash: update() any number of times, then finish() once (raw bytes).
class Hasher {
 public:
  enum class Kind { md5, sha1, sha256 };
  explicit Hasher(Kind kind);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  void update(std::string_view bytes);
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string md5(std::string_view bytes);                                  // raw 16 bytes
std::string sha256(std::string_view bytes);                               // raw 32 bytes
std::string hmac_sha256(std::string_view key, std::string_view message);  // raw 32 bytes
std::string sha256_hex(std::string_view bytes);                           // 64 lowercase hex digits

// CRCs as the AWS checksum algorithms define them (reflected, final xor), chainable:
// crc32(b, crc32(a)) == crc32(a + b).
std::uint32_t crc32(std::string_view bytes, std::uint32_t previous = 0);
std::uint32_t crc32c(std::string_view bytes, std::uint32_t previous = 0);
std::uint64_t crc64nvme(std::string_view bytes, std::uint64_t previous = 0);

// Big-endian bytes of an integer (checksums are sent as base64 of these).
std::string big_endian(std::uint64_t value, int bytes);

// `bytes` bytes from OpenSSL's CSPRNG, for a key made at start (a per-process MAC key).
// Throws std::runtime_error when the generator fails.
std::string random_key(std::size_t bytes);

// Compares in time independent of where the inputs differ (signatures).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace stoa
