// The auth service's credential check: POST /internal/v1/credentials/check (the route's
// filters require a token with the credential scope). Never routed by the gateway.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>

#include "runtime/service/json_body.h"
#include "runtime/service/json_response.h"
#include "runtime/service/retry_after.h"
#include "services/user/detail/handlers.h"
#include "services/user/email.h"
#include "services/user/lockout.h"

namespace stoa::user::detail {
namespace {

namespace js = boost::json;

// RFC 9110 requires a challenge on every 401, this one too (problem_for adds it: the token was
// fine, the end user's credentials were not; `detail` says which).
Error wrong_credentials() {
  return Error{Errc::unauthenticated, "invalid email or password"};
}

}  // namespace

Awaitable<Result<Response>> check_credentials(const Api& api, Request& request) {
  auto body = service::json_object(request, {"email", "password", "client_address"});
  if (!body) co_return body.error();
  auto email_text = service::text_field(*body, "email", kEmailRule);
  if (!email_text) co_return email_text.error();
  auto password = service::text_field(*body, "password", kPresentedPasswordRule);
  if (!password) co_return password.error();
  auto client = service::text_field(*body, "client_address",
                                    service::TextRule{.required = false, .max_bytes = 64});
  if (!client) co_return client.error();
  const std::string address = *client ? **client : request.remote_address;
  auto email = normalize_email(**email_text);
  if (!email) co_return wrong_credentials();

  // Counted before the check, so that concurrent guesses cannot all pass a "not locked yet".
  auto refused = co_await api.deps().lockout->attempt(email->key, address);
  if (refused) {
    co_return service::too_many_requests("too many failed attempts: try again later", *refused);
  }
  auto credentials = co_await api.deps().store->credentials_by_email(email->key);
  if (!credentials) co_return credentials.error();
  // An unknown address costs a hash check too, so that timing does not tell it apart.
  const std::string& stored = *credentials && !(*credentials)->password_hash.empty()
                                  ? (*credentials)->password_hash
                                  : api.dummy_hash();
  auto checked = co_await api.check(**password, stored);
  if (!checked) co_return checked.error();
  if (!*credentials || !checked->matches || (*credentials)->status == "deleted" ||
      (*credentials)->status == "deleting") {
    co_return wrong_credentials();
  }
  co_await api.deps().lockout->succeeded(email->key, address);
  if ((*credentials)->status != "active") {
    co_return Error{Errc::permission_denied, "the account is " + (*credentials)->status};
  }
  if (checked->needs_rehash) {
    // Parameters were raised since this hash was made: store one made with today's.
    auto rehashed = co_await api.hash(**password);
    if (rehashed) {
      (void)co_await api.deps().store->set_password_hash((*credentials)->id, *rehashed);
    }
  }
  js::array roles;
  for (const auto& role : (*credentials)->roles) roles.emplace_back(role);
  co_return service::json_response(200, js::object{{"user_id", (*credentials)->id},
                                                   {"email", email->address},
                                                   {"roles", std::move(roles)}});
}

}  // namespace stoa::user::detail
