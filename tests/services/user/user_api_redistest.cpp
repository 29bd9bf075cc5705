// The user API on SQLite with Redis as the cache: the lockout's counters (and the profile
// cache) on the backend that several processes share.
#include "services/user/user_api_suite.h"
#include "support/test_servers.h"

namespace stoa::user::test {
namespace {

UserApiTarget redis_target() {
  return {"Redis", []() -> std::optional<std::map<std::string, std::string>> {
            const std::string redis = ::stoa::test::server_url("STOA_TEST_REDIS_URL");
            if (redis.empty()) return std::nullopt;
            return std::map<std::string, std::string>{{"STOA_CACHE_URL", redis}};
          }};
}

}  // namespace

STOA_USER_API_SUITE(Redis, redis_target());

}  // namespace stoa::user::test
