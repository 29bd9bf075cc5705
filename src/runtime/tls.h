#pragma once
// TLS contexts (OpenSSL through Asio) for listeners and for the HTTP client. Only the
// Asio type is named here; OpenSSL stays inside tls.cpp.
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace stoa::tls {

// TLS 1.2+ server context from PEM files. Throws std::runtime_error naming the file that
// could not be read or the key that does not match the certificate.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const std::string& cert_file,
                                                               const std::string& key_file);

// TLS 1.2+ client context. verify: check the peer's chain (and the caller sets SNI/host
// name checks per connection); ca_file: PEM bundle, empty for the system's default paths.
std::shared_ptr<boost::asio::ssl::context> make_client_context(bool verify,
                                                               const std::string& ca_file);

}  // namespace stoa::tls
