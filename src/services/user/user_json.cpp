#include "services/user/user_json.h"

#include <boost/json/array.hpp>

namespace stoa::user {

namespace js = boost::json;

js::object profile_json(const Profile& p) {
  js::array roles;
  for (const auto& role : p.roles) roles.emplace_back(role);
  return js::object{{"id", p.id},
                    {"email", p.email},
                    {"display_name", p.display_name},
                    {"roles", std::move(roles)},
                    {"status", p.status},
                    {"created_at", p.created_at},
                    {"updated_at", p.updated_at}};
}

js::object address_json(const Address& a) {
  return js::object{{"id", a.id},
                    {"label", a.label},
                    {"line1", a.line1},
                    {"line2", a.line2},
                    {"city", a.city},
                    {"region", a.region},
                    {"postal_code", a.postal_code},
                    {"country", a.country},
                    {"created_at", a.created_at}};
}

}  // namespace stoa::user
