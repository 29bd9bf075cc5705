// The user API on the embedded defaults: SQLite and the in-process cache.
#include "services/user/user_api_suite.h"

namespace stoa::user::test {
namespace {

UserApiTarget sqlite_target() {
  return {"Sqlite", []() -> std::optional<std::map<std::string, std::string>> {
            return std::map<std::string, std::string>{};  // StoaProcess's fresh SQLite file
          }};
}

}  // namespace

STOA_USER_API_SUITE(Sqlite, sqlite_target());

}  // namespace stoa::user::test
