#include "runtime/digest.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "runtime/hex.h"

namespace stoa {

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

namespace {

// A one-shot digest on a context kept per thread: a new context per call costs an allocation
// and OpenSSL's set-up, more than hashing a SigV4 canonical request.
std::string one_shot(Hasher::Kind kind, std::string_view bytes) {
  struct Context {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(context); }
  };
  thread_local Context reused;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (reused.context == nullptr ||
      EVP_DigestInit_ex2(reused.context, algorithm(kind), nullptr) != 1 ||
      EVP_DigestUpdate(reused.context, bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(reused.context, out, &length) != 1) {
    throw std::runtime_error("OpenSSL cannot compute a digest");
  }
  return std::string(reinterpret_cast<char*>(out), length);
}

}  // namespace

std::string md5(std::string_view bytes) {
  return one_shot(Hasher::Kind::md5, bytes);
}

std::string sha256(std::string_view bytes) {
  return one_shot(Hasher::Kind::sha256, bytes);
}

std::string random_key(std::size_t bytes) {
  std::string key(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("the system's random number generator failed");
  }
  return key;
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

std::string sha256_hex(std::string_view bytes) {
  return to_hex(sha256(bytes));
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

}  // namespace stoa
