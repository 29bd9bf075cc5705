#pragma once
// The user service's resources as JSON, the one form the API answers with and a data export
// holds (docs/api/user.openapi.json).
#include <boost/json/object.hpp>

#include "services/user/user_store.h"

namespace stoa::user {

boost::json::object profile_json(const Profile& profile);
boost::json::object address_json(const Address& address);

}  // namespace stoa::user
