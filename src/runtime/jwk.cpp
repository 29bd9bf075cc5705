// jwt::KeySet: the public keys of a JWKS (RFC 7517/7518/8037) as OpenSSL keys, and JWS
// signature checks with them.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <map>

#include "runtime/base64.h"
#include "runtime/json.h"
#include "runtime/jwt.h"

namespace stoa::jwt {

namespace {

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

// Which JWS algorithm a key serves: a key's type fixes it (RFC 7518 §3.1), so a token cannot
// make an RSA key check an HMAC or an ES256 key check EdDSA.
enum class KeyKind { rsa, p256, ed25519 };

const char* algorithm_of(KeyKind kind) {
  switch (kind) {
    case KeyKind::rsa:
      return "RS256";
    case KeyKind::p256:
      return "ES256";
    case KeyKind::ed25519:
      return "EdDSA";
  }
  return "";
}

struct Key {
  KeyKind kind;
  KeyPtr key;
};

std::optional<std::string> member_bytes(const boost::json::object& jwk, std::string_view name) {
  const auto* value = jwk.if_contains(name);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return base64::decode_url(value->as_string());
}

std::string member_text(const boost::json::object& jwk, std::string_view name) {
  const auto* value = jwk.if_contains(name);
  if (value == nullptr || !value->is_string()) return {};
  return std::string(value->as_string());
}

KeyPtr from_params(const char* type, OSSL_PARAM_BLD* builder) {
  KeyPtr result;
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params != nullptr && context != nullptr && EVP_PKEY_fromdata_init(context) == 1 &&
      EVP_PKEY_fromdata(context, &key, EVP_PKEY_PUBLIC_KEY, params) == 1) {
    result.reset(key);
  }
  EVP_PKEY_CTX_free(context);
  OSSL_PARAM_free(params);
  return result;
}

KeyPtr rsa_key(const std::string& n, const std::string& e) {
  BIGNUM* modulus = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                              static_cast<int>(n.size()), nullptr);
  BIGNUM* exponent = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                               static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  KeyPtr key;
  if (modulus != nullptr && exponent != nullptr && builder != nullptr &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, modulus) == 1 &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, exponent) == 1) {
    key = from_params("RSA", builder);
  }
  OSSL_PARAM_BLD_free(builder);
  BN_free(modulus);
  BN_free(exponent);
  return key;
}

KeyPtr p256_key(const std::string& x, const std::string& y) {
  if (x.size() != 32 || y.size() != 32) return {};
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  KeyPtr key;
  static const std::string group = "prime256v1";
  if (builder != nullptr &&
      OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, group.c_str(), 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) == 1) {
    key = from_params("EC", builder);  // decoding the point checks that it is on the curve
  }
  OSSL_PARAM_BLD_free(builder);
  return key;
}

KeyPtr ed25519_key(const std::string& x) {
  if (x.size() != 32) return {};
  return KeyPtr(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x.data()), x.size()));
}

std::optional<Key> parse_key_material(const boost::json::object& jwk);

// One JWK, or nullopt when Stoa would never verify with it. A key that names its algorithm
// ("alg") serves that one only.
std::optional<Key> parse_key(const boost::json::object& jwk) {
  auto key = parse_key_material(jwk);
  const std::string alg = member_text(jwk, "alg");
  if (key && !alg.empty() && alg != algorithm_of(key->kind)) return std::nullopt;
  return key;
}

std::optional<Key> parse_key_material(const boost::json::object& jwk) {
  const std::string kty = member_text(jwk, "kty");
  const std::string use = member_text(jwk, "use");
  if (!use.empty() && use != "sig") return std::nullopt;
  if (kty == "RSA") {
    auto n = member_bytes(jwk, "n");
    auto e = member_bytes(jwk, "e");
    if (!n || !e) return std::nullopt;
    KeyPtr key = rsa_key(*n, *e);
    if (!key || EVP_PKEY_get_bits(key.get()) < 2048) return std::nullopt;
    return Key{KeyKind::rsa, std::move(key)};
  }
  if (kty == "EC" && member_text(jwk, "crv") == "P-256") {
    auto x = member_bytes(jwk, "x");
    auto y = member_bytes(jwk, "y");
    if (!x || !y) return std::nullopt;
    KeyPtr key = p256_key(*x, *y);
    if (!key) return std::nullopt;
    return Key{KeyKind::p256, std::move(key)};
  }
  if (kty == "OKP" && member_text(jwk, "crv") == "Ed25519") {
    auto x = member_bytes(jwk, "x");
    if (!x) return std::nullopt;
    KeyPtr key = ed25519_key(*x);
    if (!key) return std::nullopt;
    return Key{KeyKind::ed25519, std::move(key)};
  }
  return std::nullopt;
}

// JWS ES256 signatures are R || S (32 bytes each); OpenSSL wants DER.
std::optional<std::string> es256_to_der(std::string_view signature) {
  if (signature.size() != 64) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(signature.data());
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  std::optional<std::string> der;
  if (sig != nullptr && r != nullptr && s != nullptr && ECDSA_SIG_set0(sig, r, s) == 1) {
    r = s = nullptr;  // owned by sig now
    unsigned char* out = nullptr;
    const int length = i2d_ECDSA_SIG(sig, &out);
    if (length > 0)
      der = std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(length));
    OPENSSL_free(out);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return der;
}

bool verify_signature(const Key& key, std::string_view signed_part, std::string_view signature) {
  std::string der;
  if (key.kind == KeyKind::p256) {
    auto converted = es256_to_der(signature);
    if (!converted) return false;
    der = std::move(*converted);
    signature = der;
  }
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  if (context == nullptr) return false;
  // EdDSA hashes internally: no digest is named for it.
  const EVP_MD* digest = key.kind == KeyKind::ed25519 ? nullptr : EVP_sha256();
  bool ok =
      EVP_DigestVerifyInit(context, nullptr, digest, nullptr, key.key.get()) == 1 &&
      EVP_DigestVerify(context, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) == 1;
  EVP_MD_CTX_free(context);
  return ok;
}

}  // namespace

struct KeySet::Impl {
  std::map<std::string, Key, std::less<>> keys;  // by kid ("" for a key without one)
};

KeySet::KeySet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeySet::~KeySet() = default;

Result<std::shared_ptr<const KeySet>> KeySet::parse(std::string_view jwks_json) {
  auto document = json::parse(jwks_json, json::Limits{256 * 1024, 8});
  if (!document) {
    return Error{Errc::invalid_argument, "the JWKS is not JSON: " + document.error().message};
  }
  const auto* object = document->if_object();
  const auto* keys = object == nullptr ? nullptr : object->if_contains("keys");
  if (keys == nullptr || !keys->is_array()) {
    return Error{Errc::invalid_argument, "the JWKS has no \"keys\" array"};
  }
  auto impl = std::make_unique<Impl>();
  for (const auto& entry : keys->as_array()) {
    if (!entry.is_object()) continue;
    auto key = parse_key(entry.as_object());
    if (!key) continue;
    impl->keys.emplace(member_text(entry.as_object(), "kid"), std::move(*key));
  }
  return std::shared_ptr<const KeySet>(new KeySet(std::move(impl)));
}

std::size_t KeySet::size() const {
  return impl_->keys.size();
}

bool KeySet::contains(std::string_view kid) const {
  if (kid.empty()) return impl_->keys.size() == 1;
  return impl_->keys.find(kid) != impl_->keys.end();
}

Status KeySet::verify(std::string_view kid, std::string_view alg, std::string_view signed_part,
                      std::string_view signature) const {
  const Key* key = nullptr;
  if (kid.empty()) {
    if (impl_->keys.size() == 1) key = &impl_->keys.begin()->second;
  } else if (auto it = impl_->keys.find(kid); it != impl_->keys.end()) {
    key = &it->second;
  }
  if (key == nullptr) {
    return Error{Errc::unauthenticated,
                 kid.empty() ? std::string("the token names no key (kid) and the JWKS has several")
                             : "the token's key " + quote_for_message(kid) + " is not in the JWKS"};
  }
  if (alg != algorithm_of(key->kind)) {
    return Error{Errc::unauthenticated, "the token's algorithm " + quote_for_message(alg) +
                                            " is not its key's (" + algorithm_of(key->kind) + ")"};
  }
  if (!verify_signature(*key, signed_part, signature)) {
    return Error{Errc::unauthenticated, "the token's signature does not verify"};
  }
  return Ok{};
}

}  // namespace stoa::jwt
