// The user component ([user], port 8101): the user service's API over the process's database
// (migrations of schema `users` applied at start), cache and object store.
#include <memory>
#include <stdexcept>

#include "data/cache/loading_cache.h"
#include "data/cache/open_cache.h"
#include "data/objects/objects.h"
#include "data/sql/migrations.h"
#include "observability/telemetry.h"
#include "runtime/component.h"
#include "runtime/config.h"
#include "runtime/jwt.h"
#include "runtime/router.h"
#include "runtime/worker_pool.h"
#include "services/user/user_api.h"

namespace stoa::user {
namespace {

ApiOptions options_from(const Config& config) {
  ApiOptions options;
  options.profile_cache_ttl = config.duration("user.profile_cache_ttl");
  options.export_url_ttl = config.duration("user.export_url_ttl");
  options.credential_scope = config.string("user.credential_scope");
  options.admin_role = config.string("user.admin_role");
  const auto memory = config.bytes("user.password_memory_bytes");
  const auto iterations = config.integer_in("user.password_iterations", 1, 100);
  const auto parallelism = config.integer_in("user.password_parallelism", 1, 64);
  if (memory < 8 * 1024 || memory > 4ull * 1024 * 1024 * 1024) {
    throw std::invalid_argument("user.password_memory_bytes must be from 8KiB to 4GiB");
  }
  options.password.memory_kib = static_cast<std::uint32_t>(memory / 1024);
  options.password.iterations = static_cast<std::uint32_t>(iterations);
  options.password.parallelism = static_cast<std::uint32_t>(parallelism);
  return options;
}

LockoutPolicy lockout_from(const Config& config, const char* threshold_key) {
  LockoutPolicy policy;
  policy.threshold = config.integer_in(threshold_key, 1, 1'000'000);
  policy.window = config.duration("user.lockout_failure_ttl");
  policy.base_delay = config.duration("user.lockout_base_delay");
  policy.max_delay = config.duration("user.lockout_max_delay");
  return policy;
}

class UserComponent final : public Component {
 public:
  void start(ComponentHost& host) override {
    const Config& config = host.config();
    ApiOptions options = options_from(config);
    sql::apply_migrations(host, "messaging");  // its events go through the outbox
    sql::apply_migrations(host, "users");

    ApiDependencies deps;
    deps.store = std::make_shared<UserStore>(sql::database(host));
    auto cache = cache::shared_cache(host);
    deps.profiles = std::make_shared<cache::LoadingCache>(cache, &host.telemetry());
    deps.lockout =
        std::make_shared<Lockout>(cache, lockout_from(config, "user.lockout_threshold"),
                                  lockout_from(config, "user.lockout_address_threshold"));
    deps.verifier = jwt::verifier(host);
    deps.workers = worker_pool(host);
    deps.objects = objects::shared_object_store(host);

    auto router = std::make_shared<http::Router>();
    add_user_routes(*router, std::move(deps), std::move(options),
                    config.bytes("user.max_body_bytes"));
    host.serve("user", std::move(router));
  }
};

[[maybe_unused]] const bool registered = register_component({
    .name = "user",
    .description = "the user service: accounts, credentials and profiles (port 8101)",
    .order = 300,
    .make = [] { return std::make_unique<UserComponent>(); },
});

}  // namespace
}  // namespace stoa::user
