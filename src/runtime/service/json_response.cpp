#include "runtime/service/json_response.h"

#include "runtime/json.h"

namespace stoa::service {

http::Response json_response(int status, const boost::json::value& body) {
  return http::Response::json(status, json::serialize(body));
}

}  // namespace stoa::service
