#include "runtime/service/retry_after.h"

#include <algorithm>
#include <utility>

namespace stoa::service {

std::chrono::seconds retry_after_seconds(std::chrono::milliseconds wait) {
  return std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(wait));
}

Error too_many_requests(std::string detail, std::chrono::milliseconds wait) {
  return Error{Errc::resource_exhausted, std::move(detail), retry_after_seconds(wait)};
}

Error unavailable_for(std::string detail, std::chrono::milliseconds wait) {
  return Error{Errc::unavailable, std::move(detail), retry_after_seconds(wait)};
}

}  // namespace stoa::service
