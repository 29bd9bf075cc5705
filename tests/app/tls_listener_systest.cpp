// TLS on a listener, configured the way a user would: [gateway] tls_cert and tls_key, and a
// real TLS client (curl) that checks the certificate.
#include <gtest/gtest.h>

#include "support/child_process.h"
#include "support/raw_http.h"
#include "support/stoa_process.h"
#include "support/tls_fixture.h"

namespace stoa::test {
namespace {

using namespace std::chrono_literals;

TEST(TlsListener, GatewayServesHttpsWithTheConfiguredCertificate) {
  std::string curl = find_executable("curl");
  if (curl.empty()) {
    if (require_all_tiers()) FAIL() << "curl is missing; ./dev test installs it";
    GTEST_SKIP() << "curl not installed";
  }
  TlsFixture tls;
  StoaProcess stoa({"up"}, {{"STOA_GATEWAY_TLS_CERT", tls.cert_file()},
                            {"STOA_GATEWAY_TLS_KEY", tls.key_file()}});
  ASSERT_TRUE(stoa.wait_ready()) << stoa.log();
  std::string url = "https://localhost:" + std::to_string(stoa.gateway_port) + "/v1/ping";

  ChildProcess verified({curl, "-sS", "--max-time", "10", "--cacert", tls.cert_file(), url});
  EXPECT_EQ(verified.wait_exit(15s), std::optional<int>(0)) << verified.output();
  EXPECT_EQ(verified.output(), R"({"status":"ok"})");

  // Without the CA the client must refuse the server's self-signed certificate.
  ChildProcess unverified({curl, "-sS", "--max-time", "10", url});
  EXPECT_NE(unverified.wait_exit(15s), std::optional<int>(0)) << unverified.output();

  // Plain HTTP on the TLS port gets no HTTP answer.
  EXPECT_EQ(status_of(http_get(stoa.gateway_port, "/v1/ping")), 0);
}

TEST(TlsListener, UnreadableKeyStopsStartUpNamingTheFile) {
  TlsFixture tls;
  StoaProcess stoa({"up"}, {{"STOA_GATEWAY_TLS_CERT", tls.cert_file()},
                            {"STOA_GATEWAY_TLS_KEY", tls.directory() + "/missing.pem"}});
  EXPECT_EQ(stoa.wait_exit(10s), std::optional<int>(1));
  EXPECT_NE(stoa.log().find("missing.pem"), std::string::npos) << stoa.log();
}

}  // namespace
}  // namespace stoa::test
