#include "data/objects/digest.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdexcept>

namespace stoa::objects {

namespace {

// Fetched once: OpenSSL 3 looks an algorithm up in its provider tables (under a lock) every
// time a legacy EVP_sha256() is used, which costs more than hashing a small input.
const EVP_MD* algorithm(Hasher::Kind kind) {
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  switch (kind) {
    case Hasher::Kind::md5:
      return md5;
    case Hasher::Kind::sha1:
      return sha1;
    case Hasher::Kind::sha256:
      return sha256;
  }
  return sha256;
}

// One HMAC-SHA256 context per thread, re-keyed per call (SigV4 computes six per request).
struct HmacContext {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* context = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  HmacContext() {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    if (context == nullptr || EVP_MAC_CTX_set_params(context, params) != 1) {
      throw std::runtime_error("OpenSSL cannot initialise HMAC-SHA256");
    }
  }
  ~HmacContext() {
    EVP_MAC_CTX_free(context);
    EVP_MAC_free(mac);
  }
};

// Table-driven reflected CRCs; the tables are built once per polynomial.
template <class T>
struct CrcTable {
  std::array<T, 256> entries{};
  explicit CrcTable(T reflected_polynomial) {
    for (unsigned i = 0; i < 256; ++i) {
      T value = i;
      for (int bit = 0; bit < 8; ++bit) {
        value = (value & 1) ? (value >> 1) ^ reflected_polynomial : value >> 1;
      }
      entries[i] = value;
    }
  }
  T update(std::string_view bytes, T previous) const {
    T crc = ~previous;
    for (unsigned char byte : bytes) crc = entries[(crc ^ byte) & 0xff] ^ (crc >> 8);
    return ~crc;
  }
};

}  // namespace

struct Hasher::Impl {
  EVP_MD_CTX* context = nullptr;
  ~Impl() { EVP_MD_CTX_free(context); }
};

Hasher::Hasher(Kind kind) : impl_(std::make_unique<Impl>()) {
  impl_->context = EVP_MD_CTX_new();
  if (impl_->context == nullptr ||
      EVP_DigestInit_ex(impl_->context, algorithm(kind), nullptr) != 1) {
    throw std::runtime_error("OpenSSL cannot initialise a digest");
  }
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(std::string_view bytes) {
  EVP_DigestUpdate(impl_->context, bytes.data(), bytes.size());
}

std::string Hasher::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(impl_->context, out, &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string md5(std::string_view bytes) {
  Hasher h(Hasher::Kind::md5);
  h.update(bytes);
  return h.finish();
}

std::string sha256(std::string_view bytes) {
  Hasher h(Hasher::Kind::sha256);
  h.update(bytes);
  return h.finish();
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
  thread_local HmacContext hmac;
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t length = 0;
  if (EVP_MAC_init(hmac.context, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   nullptr) != 1 ||
      EVP_MAC_update(hmac.context, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      EVP_MAC_final(hmac.context, out, &length, sizeof out) != 1) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<char*>(out), length);
}

std::uint32_t crc32(std::string_view bytes, std::uint32_t previous) {
  static const CrcTable<std::uint32_t> table(0xEDB88320u);
  return table.update(bytes, previous);
}

std::uint32_t crc32c(std::string_view bytes, std::uint32_t previous) {
  static const CrcTable<std::uint32_t> table(0x82F63B78u);
  return table.update(bytes, previous);
}

std::uint64_t crc64nvme(std::string_view bytes, std::uint64_t previous) {
  static const CrcTable<std::uint64_t> table(0x9A6C9329AC4BC9B5ull);
  return table.update(bytes, previous);
}

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = value(text[i]), lo = value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string base64(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8) |
                      std::uint8_t(bytes[i + 2]);
    out += alphabet[n >> 18];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    std::uint32_t n = std::uint8_t(bytes[i]) << 16;
    if (rest == 2) n |= std::uint8_t(bytes[i + 1]) << 8;
    out += alphabet[n >> 18];
    out += alphabet[(n >> 12) & 63];
    out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    std::uint32_t n = 0;
    for (int j = 0; j < 4; ++j) {
      int v = j >= 4 - pad ? 0 : value(text[i + j]);
      if (v < 0) return std::nullopt;
      n = (n << 6) | static_cast<std::uint32_t>(v);
    }
    out += static_cast<char>(n >> 16);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string big_endian(std::uint64_t value, int bytes) {
  std::string out(static_cast<std::size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace stoa::objects
