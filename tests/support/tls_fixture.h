#pragma once
// A throwaway self-signed certificate for TLS tests: an EC P-256 key and an X.509 certificate
// valid for "localhost" and 127.0.0.1 (subjectAltName), written as PEM files into a fresh
// temporary directory that is removed again with the fixture. The certificate is its own CA,
// so a client trusts it by using cert_file() as its CA bundle.
#include <string>

namespace stoa::test {

class TlsFixture {
 public:
  // Throws std::runtime_error when OpenSSL or the file system fails.
  explicit TlsFixture(const std::string& common_name = "localhost");
  ~TlsFixture();
  TlsFixture(const TlsFixture&) = delete;
  TlsFixture& operator=(const TlsFixture&) = delete;

  const std::string& cert_file() const { return cert_file_; }
  const std::string& key_file() const { return key_file_; }
  const std::string& directory() const { return directory_; }

 private:
  std::string directory_;
  std::string cert_file_;
  std::string key_file_;
};

}  // namespace stoa::test
