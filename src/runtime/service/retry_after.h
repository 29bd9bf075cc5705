#pragma once
// Service kit: errors that tell the caller when to come back. problem_for (runtime/problem.h)
// answers Error::retry_after as `Retry-After` (whole seconds, RFC 9110 §10.2.3), so a handler
// or filter returns the Error and never builds the header itself.
#include <chrono>
#include <string>

#include "runtime/error.h"

namespace stoa::service {

// 429: a rate limit or lockout; come back after `wait` (rounded up to whole seconds, at least 1).
Error too_many_requests(std::string detail, std::chrono::milliseconds wait);
// 503: the service cannot answer now; come back after `wait` (as above).
Error unavailable_for(std::string detail, std::chrono::milliseconds wait);

// `wait` in whole seconds, rounded up, at least 1: a shorter wait would read as "now".
std::chrono::seconds retry_after_seconds(std::chrono::milliseconds wait);

}  // namespace stoa::service
