#include "runtime/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <stdexcept>
#include <string>

namespace stoa::tls {
namespace {

namespace ssl = boost::asio::ssl;

// The most recent OpenSSL error on this thread, or the Asio error when OpenSSL has none.
std::string describe(const boost::system::error_code& ec) {
  unsigned long code = ERR_peek_last_error();
  std::string text;
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text = buffer;
  } else if (ec) {
    text = ec.message();
  } else {
    text = "unknown error";
  }
  ERR_clear_error();
  return text;
}

// Options shared by both sides: TLS 1.2 or later only, no compression (CRIME), no
// renegotiation. Cipher suites stay at OpenSSL's defaults, which are the maintained choice.
void apply_common_options(ssl::context& context) {
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::no_compression);
  SSL_CTX* native = context.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    throw std::runtime_error("TLS: cannot require TLS 1.2: " + describe({}));
  }
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
}

}  // namespace

std::shared_ptr<ssl::context> make_server_context(const std::string& cert_file,
                                                  const std::string& key_file) {
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  apply_common_options(*context);
  SSL_CTX_set_options(context->native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE);

  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    throw std::runtime_error("TLS: cannot load certificate chain from '" + cert_file +
                             "': " + describe(ec));
  }
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error("TLS: cannot load private key from '" + key_file +
                             "': " + describe(ec));
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    throw std::runtime_error("TLS: private key '" + key_file +
                             "' does not match the certificate in '" + cert_file +
                             "': " + describe({}));
  }
  return context;
}

std::shared_ptr<ssl::context> make_client_context(bool verify, const std::string& ca_file) {
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  apply_common_options(*context);

  boost::system::error_code ec;
  if (!ca_file.empty()) {
    context->load_verify_file(ca_file, ec);
    if (ec) {
      throw std::runtime_error("TLS: cannot load CA bundle from '" + ca_file +
                               "': " + describe(ec));
    }
  } else if (verify) {
    context->set_default_verify_paths(ec);
    if (ec) {
      throw std::runtime_error("TLS: cannot load the system's CA paths: " + describe(ec));
    }
  }
  context->set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none, ec);
  if (ec) throw std::runtime_error("TLS: cannot set the verify mode: " + describe(ec));
  return context;
}

}  // namespace stoa::tls
