// The caller's postal addresses: /v1/users/me/addresses and …/{address_id}.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <string>
#include <utility>

#include "runtime/service/json_body.h"
#include "runtime/service/json_response.h"
#include "runtime/uuid.h"
#include "services/user/detail/handlers.h"
#include "services/user/user_json.h"

namespace stoa::user::detail {
namespace {

namespace js = boost::json;

bool valid_country(std::string_view code) {
  return code.size() == 2 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

Result<Address> address_from_body(const Request& request) {
  auto body = service::json_object(
      request, {"label", "line1", "line2", "city", "region", "postal_code", "country"});
  if (!body) return body.error();
  Address a;
  struct Field {
    const char* name;
    std::string* out;
    service::TextRule rule;
  };
  const Field fields[] = {
      {"label", &a.label, {.required = false, .max_chars = 50}},
      {"line1", &a.line1, {.min_chars = 1, .max_chars = 200}},
      {"line2", &a.line2, {.required = false, .max_chars = 200}},
      {"city", &a.city, {.min_chars = 1, .max_chars = 100}},
      {"region", &a.region, {.required = false, .max_chars = 100}},
      {"postal_code", &a.postal_code, {.required = false, .max_chars = 20}},
      {"country", &a.country, {.min_chars = 2, .max_chars = 2}},
  };
  for (const Field& f : fields) {
    auto value = service::text_field(*body, f.name, f.rule);
    if (!value) return value.error();
    if (*value) *f.out = std::move(**value);
  }
  if (!valid_country(a.country)) {
    return Error{Errc::invalid_argument,
                 "country must be an ISO 3166-1 alpha-2 code in capitals, like \"DE\""};
  }
  return a;
}

// The {address_id} of the path; not_found when it cannot be one.
Result<std::string> address_id_of(const Request& request) {
  std::string id(request.param("address_id").value_or(""));
  if (!Uuid::parse(id)) return Error{Errc::not_found, "no such address"};
  return id;
}

}  // namespace

Awaitable<Result<Response>> list_addresses(const Api& api, Request& request) {
  auto me = co_await api.caller_profile(request);
  if (!me) co_return me.error();
  auto addresses = co_await api.deps().store->addresses(me->id);
  if (!addresses) co_return addresses.error();
  js::array items;
  for (const auto& a : *addresses) items.push_back(address_json(a));
  co_return service::json_response(200, js::object{{"addresses", std::move(items)}});
}

Awaitable<Result<Response>> add_address(const Api& api, Request& request) {
  auto me = co_await api.caller_profile(request);
  if (!me) co_return me.error();
  auto address = address_from_body(request);
  if (!address) co_return address.error();
  auto added = co_await api.deps().store->add_address(me->id, std::move(*address));
  if (!added) co_return added.error();
  Response response = service::json_response(201, address_json(*added));
  response.headers.set("Location", "/v1/users/me/addresses/" + added->id);
  co_return response;
}

Awaitable<Result<Response>> replace_address(const Api& api, Request& request) {
  auto me = co_await api.caller_profile(request);
  if (!me) co_return me.error();
  auto address_id = address_id_of(request);
  if (!address_id) co_return address_id.error();
  auto address = address_from_body(request);
  if (!address) co_return address.error();
  address->id = std::move(*address_id);
  auto replaced = co_await api.deps().store->replace_address(me->id, std::move(*address));
  if (!replaced) co_return replaced.error();
  co_return service::json_response(200, address_json(*replaced));
}

Awaitable<Result<Response>> delete_address(const Api& api, Request& request) {
  auto me = co_await api.caller_profile(request);
  if (!me) co_return me.error();
  auto address_id = address_id_of(request);
  if (!address_id) co_return address_id.error();
  auto deleted = co_await api.deps().store->delete_address(me->id, std::move(*address_id));
  if (!deleted) co_return deleted.error();
  Response response;
  response.status = 204;
  co_return response;
}

}  // namespace stoa::user::detail
