// The outbox and inbox contract on PostgreSQL (STOA_TEST_PG_URL).
#include "messaging/outbox_contract.h"
#include "support/test_servers.h"

namespace stoa::messaging::test {
namespace {

std::optional<sql::DatabaseOptions> postgresql(const std::string&) {
  auto url = stoa::test::server_url("STOA_TEST_PG_URL");
  if (url.empty()) {
    if (stoa::test::require_all_tiers()) ADD_FAILURE() << "STOA_TEST_PG_URL is not set";
    return std::nullopt;
  }
  sql::DatabaseOptions options;
  options.url = url;
  return options;
}

INSTANTIATE_TEST_SUITE_P(Postgresql, OutboxContract,
                         ::testing::Values(OutboxDatabase{"postgresql", postgresql}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace stoa::messaging::test
