#pragma once
// Service kit: a JSON answer, serialized the one way (runtime/json.h), with
// `Content-Type: application/json`.
#include <boost/json/value.hpp>

#include "runtime/http_types.h"

namespace stoa::service {

http::Response json_response(int status, const boost::json::value& body);

}  // namespace stoa::service
