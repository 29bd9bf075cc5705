// The shared SQL contract (tests/data/sql/sql_contract.h) on PostgreSQL: the primary of the
// test servers, with its streaming replica as the read replica, so replica reads and
// read-your-writes go through the real replica path.
#include "data/sql/sql_contract.h"
#include "support/test_servers.h"

namespace stoa::sql::test {
namespace {

ContractTarget postgresql_target() {
  return {"Postgresql", []() -> std::optional<DatabaseOptions> {
            const std::string primary = ::stoa::test::server_url("STOA_TEST_PG_URL");
            const std::string replica = ::stoa::test::server_url("STOA_TEST_PG_REPLICA_URL");
            if (primary.empty()) return std::nullopt;
            DatabaseOptions options;
            options.url = primary;
            if (!replica.empty()) options.replicas = {replica};
            options.pool_size = 4;
            options.connect_timeout = std::chrono::seconds(2);
            options.replica_check_interval = std::chrono::milliseconds(100);
            options.fresh_read_timeout = std::chrono::seconds(2);
            return options;
          }};
}

}  // namespace

STOA_SQL_CONTRACT(Postgresql, postgresql_target());

}  // namespace stoa::sql::test
