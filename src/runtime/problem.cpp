#include "runtime/problem.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace stoa::http {

Response problem_response(const Problem& problem) {
  boost::json::object doc;
  doc["type"] = problem.type;
  doc["title"] = problem.title.empty() ? std::string(reason_phrase(problem.status)) : problem.title;
  doc["status"] = problem.status;
  if (!problem.detail.empty()) doc["detail"] = problem.detail;
  if (!problem.instance.empty()) doc["instance"] = problem.instance;
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

}  // namespace stoa::http
