// The user API on PostgreSQL with its streaming replica (admin lists read from it) and Redis
// as the cache, from the test servers.
#include "services/user/user_api_suite.h"
#include "support/test_servers.h"

namespace stoa::user::test {
namespace {

UserApiTarget postgresql_target() {
  return {"Postgresql", []() -> std::optional<std::map<std::string, std::string>> {
            const std::string primary = ::stoa::test::server_url("STOA_TEST_PG_URL");
            const std::string replica = ::stoa::test::server_url("STOA_TEST_PG_REPLICA_URL");
            const std::string redis = ::stoa::test::server_url("STOA_TEST_REDIS_URL");
            if (primary.empty() || replica.empty() || redis.empty()) return std::nullopt;
            return std::map<std::string, std::string>{{"STOA_DATABASE_URL", primary},
                                                      {"STOA_DATABASE_REPLICAS", replica},
                                                      {"STOA_CACHE_URL", redis}};
          }};
}

}  // namespace

STOA_USER_API_SUITE(Postgresql, postgresql_target());

}  // namespace stoa::user::test
