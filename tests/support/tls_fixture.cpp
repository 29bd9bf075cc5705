#include "support/tls_fixture.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace stoa::test {
namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

[[noreturn]] void fail(const std::string& what) {
  char reason[256] = "unknown error";
  if (unsigned long code = ERR_get_error(); code != 0) {
    ERR_error_string_n(code, reason, sizeof reason);
  }
  ERR_clear_error();
  throw std::runtime_error("TlsFixture: " + what + ": " + reason);
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension) fail(std::string("cannot make extension ") + OBJ_nid2sn(nid));
  if (X509_add_ext(cert, extension.get(), -1) != 1) fail("cannot add extension");
}

void write_pem(const std::string& path, const std::function<int(FILE*)>& write) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) throw std::runtime_error("TlsFixture: cannot create " + path);
  int ok = write(file);
  if (std::fclose(file) != 0 || ok != 1) fail("cannot write " + path);
}

}  // namespace

TlsFixture::TlsFixture(const std::string& common_name) {
  std::string pattern = (std::filesystem::temp_directory_path() / "stoa-tls-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!::mkdtemp(buffer.data())) {
    throw std::system_error(errno, std::generic_category(), "TlsFixture: mkdtemp");
  }
  directory_ = buffer.data();
  cert_file_ = directory_ + "/cert.pem";
  key_file_ = directory_ + "/key.pem";

  try {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) fail("cannot generate an EC P-256 key");

    X509Ptr cert(X509_new());
    if (!cert) fail("X509_new");
    X509_set_version(cert.get(), 2);  // v3
    // A random serial: clients cache by issuer+serial, and fixtures are made many times.
    unsigned char serial[16];
    std::FILE* urandom = std::fopen("/dev/urandom", "rb");
    if (!urandom || std::fread(serial, 1, sizeof serial, urandom) != sizeof serial) {
      if (urandom) std::fclose(urandom);
      throw std::runtime_error("TlsFixture: cannot read /dev/urandom");
    }
    std::fclose(urandom);
    serial[0] &= 0x7f;  // positive
    std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> number(
        BN_bin2bn(serial, sizeof serial, nullptr));
    if (!number || !BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(cert.get()))) {
      fail("cannot set the serial number");
    }
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60 * 60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 60 * 60);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("Stoa tests"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(cert.get(), name);
    if (X509_set_pubkey(cert.get(), key.get()) != 1) fail("X509_set_pubkey");

    add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
    add_extension(cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
    add_extension(cert.get(), NID_subject_key_identifier, "hash");
    add_extension(cert.get(), NID_authority_key_identifier, "keyid:always");
    std::string san = "DNS:" + common_name + ",IP:127.0.0.1";
    if (common_name != "localhost") san += ",DNS:localhost";
    add_extension(cert.get(), NID_subject_alt_name, san.c_str());

    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("X509_sign");

    write_pem(key_file_, [&](FILE* f) {
      return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    write_pem(cert_file_, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
    throw;
  }
}

TlsFixture::~TlsFixture() {
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

}  // namespace stoa::test
