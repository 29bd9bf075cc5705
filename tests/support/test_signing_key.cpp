#include "support/test_signing_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <stdexcept>

#include <boost/json/serialize.hpp>

#include "runtime/base64.h"

namespace stoa::test {

struct TestSigningKey::Impl {
  EVP_PKEY* key = nullptr;
  ~Impl() { EVP_PKEY_free(key); }
};

namespace {

std::string bn_param(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) throw std::runtime_error("no key parameter");
  std::string out(
      pad > 0 ? static_cast<std::size_t>(pad) : static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  if (pad > 0) {
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  BN_free(bn);
  return out;
}

}  // namespace

TestSigningKey::TestSigningKey(Kind kind, std::string kid)
    : kind_(kind), kid_(std::move(kid)), impl_(std::make_unique<Impl>()) {
  switch (kind) {
    case Kind::es256:
      impl_->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case Kind::rs256:
      impl_->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
    case Kind::rsa1024:
      impl_->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
      break;
    case Kind::eddsa:
      impl_->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (impl_->key == nullptr) throw std::runtime_error("key generation failed");
}

TestSigningKey::~TestSigningKey() = default;

std::string TestSigningKey::alg() const {
  switch (kind_) {
    case Kind::es256:
      return "ES256";
    case Kind::eddsa:
      return "EdDSA";
    default:
      return "RS256";
  }
}

boost::json::object TestSigningKey::public_jwk() const {
  boost::json::object jwk;
  jwk["kid"] = kid_;
  jwk["use"] = "sig";
  if (kind_ == Kind::es256) {
    jwk["kty"] = "EC";
    jwk["crv"] = "P-256";
    jwk["x"] = base64::encode_url(bn_param(impl_->key, OSSL_PKEY_PARAM_EC_PUB_X, 32));
    jwk["y"] = base64::encode_url(bn_param(impl_->key, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
  } else if (kind_ == Kind::eddsa) {
    std::string raw(32, '\0');
    std::size_t length = raw.size();
    EVP_PKEY_get_raw_public_key(impl_->key, reinterpret_cast<unsigned char*>(raw.data()), &length);
    jwk["kty"] = "OKP";
    jwk["crv"] = "Ed25519";
    jwk["x"] = base64::encode_url(raw);
  } else {
    jwk["kty"] = "RSA";
    jwk["n"] = base64::encode_url(bn_param(impl_->key, OSSL_PKEY_PARAM_RSA_N));
    jwk["e"] = base64::encode_url(bn_param(impl_->key, OSSL_PKEY_PARAM_RSA_E));
  }
  return jwk;
}

std::string TestSigningKey::signature_of(const std::string& input) const {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const EVP_MD* digest = kind_ == Kind::eddsa ? nullptr : EVP_sha256();
  std::size_t length = 0;
  std::string signature;
  if (EVP_DigestSignInit(context, nullptr, digest, nullptr, impl_->key) != 1 ||
      EVP_DigestSign(context, nullptr, &length,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    EVP_MD_CTX_free(context);
    throw std::runtime_error("signing failed");
  }
  signature.resize(length);
  EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &length,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  signature.resize(length);
  EVP_MD_CTX_free(context);
  if (kind_ != Kind::es256) return signature;
  // OpenSSL signs ECDSA in DER; JWS wants R || S, 32 bytes each.
  const auto* der = reinterpret_cast<const unsigned char*>(signature.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(signature.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string TestSigningKey::sign(const boost::json::object& payload,
                                 const boost::json::object& header_extra) const {
  boost::json::object header{{"alg", alg()}, {"typ", "JWT"}, {"kid", kid_}};
  for (const auto& [name, value] : header_extra) header[name] = value;
  std::string input = base64::encode_url(boost::json::serialize(header)) + "." +
                      base64::encode_url(boost::json::serialize(payload));
  return input + "." + base64::encode_url(signature_of(input));
}

std::string jwks_of(const std::vector<const TestSigningKey*>& keys) {
  boost::json::array list;
  for (const auto* key : keys) list.push_back(key->public_jwk());
  return boost::json::serialize(boost::json::object{{"keys", list}});
}

}  // namespace stoa::test
