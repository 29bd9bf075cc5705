#pragma once
// RFC 9457 problem details: every HTTP error Stoa sends is an application/problem+json body.
#include <string>

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

}  // namespace stoa::http
