#include "runtime/problem.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace stoa::http {

namespace {
// `instance` is a URI reference, and often the request's raw path: bytes that cannot appear
// in a URI (controls, spaces, non-ASCII) are percent-encoded so the document stays valid JSON
// text in UTF-8 whatever the client sent.
std::string uri_safe(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c > 0x20 && c < 0x7F && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}
}  // namespace

Response problem_response(const Problem& problem) {
  boost::json::object doc;
  doc["type"] = problem.type;
  doc["title"] = problem.title.empty() ? std::string(reason_phrase(problem.status)) : problem.title;
  doc["status"] = problem.status;
  if (!problem.detail.empty()) doc["detail"] = problem.detail;
  if (!problem.instance.empty()) doc["instance"] = uri_safe(problem.instance);
  Response response;
  response.status = problem.status;
  response.headers.add("Content-Type", "application/problem+json");
  response.body = boost::json::serialize(doc);
  return response;
}

Response problem_response(int status, std::string detail, std::string instance) {
  Problem problem;
  problem.status = status;
  problem.title = std::string(reason_phrase(status));
  problem.detail = std::move(detail);
  problem.instance = std::move(instance);
  return problem_response(problem);
}

int status_for(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return 400;
    case Errc::unauthenticated:
      return 401;
    case Errc::permission_denied:
      return 403;
    case Errc::resource_exhausted:
      return 429;
    case Errc::not_found:
      return 404;
    case Errc::conflict:
    case Errc::aborted:
      return 409;
    case Errc::too_large:
      return 413;
    case Errc::protocol:
      return 502;
    case Errc::unavailable:
    case Errc::timeout:
    case Errc::cancelled:
      return 503;
    case Errc::io:
    case Errc::internal:
      return 500;
  }
  return 500;
}

Response problem_for(const Error& error, std::string instance) {
  const int status = status_for(error.code);
  std::string detail = error.message;
  if (status >= 500) {
    detail = status == 503 ? "a dependency is unavailable or slow; try again later"
                           : "the server failed to handle the request";
  }
  Response response = problem_response(status, std::move(detail), std::move(instance));
  if (status == 401) response.headers.add("WWW-Authenticate", "Bearer");
  // The error's own advice when it has one; a dependency that failed is worth a retry soon.
  if (error.retry_after.count() > 0) {
    response.headers.add("Retry-After", std::to_string(error.retry_after.count()));
  } else if (status == 503) {
    response.headers.add("Retry-After", "1");
  }
  return response;
}

}  // namespace stoa::http
