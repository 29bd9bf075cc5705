#pragma once
// RFC 9457 problem details: every HTTP error Stoa sends is an application/problem+json body.
#include <string>

#include "runtime/error.h"
#include "runtime/http_types.h"

namespace stoa::http {

struct Problem {
  int status = 500;
  std::string title;   // short, stable per kind of problem
  std::string detail;  // this occurrence, for a person; never secrets
  std::string type = "about:blank";
  std::string instance;  // usually the request path
};

Response problem_response(const Problem& problem);
// A problem with title set to the status's reason phrase.
Response problem_response(int status, std::string detail, std::string instance = {});

// The HTTP status that answers an Error: invalid_argument 400, unauthenticated 401,
// permission_denied 403, not_found 404, conflict and aborted 409, too_large 413,
// resource_exhausted 429, unavailable, timeout and cancelled 503, protocol 502, io and
// internal 500.
int status_for(Errc code);

// The problem document that answers `error`. A 4xx carries the error's message (written for the
// caller); a 5xx says only what kind of failure it was, since its message may describe the
// platform's internals (log it). 401 adds `WWW-Authenticate: Bearer`; Error::retry_after
// becomes `Retry-After` (a 503 without it gets 1 second). Every answer built from an Error,
// a handler's or a filter's (runtime/http/pipeline.h), goes through here.
Response problem_for(const Error& error, std::string instance = {});

}  // namespace stoa::http
