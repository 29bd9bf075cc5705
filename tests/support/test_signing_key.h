#pragma once
// A key pair made fresh for a test, to mint JWTs the way an issuer would (the auth service,
// or an identity provider), and its public JWK for the verifier's JWKS.
#include <memory>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace stoa::test {

class TestSigningKey {
 public:
  enum class Kind { es256, rs256, eddsa, rsa1024 };  // rsa1024: too weak, for refusal tests
  TestSigningKey(Kind kind, std::string kid);
  ~TestSigningKey();
  TestSigningKey(const TestSigningKey&) = delete;
  TestSigningKey& operator=(const TestSigningKey&) = delete;

  const std::string& kid() const { return kid_; }
  std::string alg() const;  // ES256, RS256 or EdDSA
  boost::json::object public_jwk() const;

  // A compact JWS of `payload` with header {"alg", "typ":"JWT", "kid"} plus `header_extra`.
  std::string sign(const boost::json::object& payload,
                   const boost::json::object& header_extra = {}) const;
  // The raw signature of `input` in JWS form (ES256: R || S).
  std::string signature_of(const std::string& input) const;

 private:
  struct Impl;
  Kind kind_;
  std::string kid_;
  std::unique_ptr<Impl> impl_;
};

// {"keys": [...]} of the keys' public JWKs.
std::string jwks_of(const std::vector<const TestSigningKey*>& keys);

}  // namespace stoa::test
