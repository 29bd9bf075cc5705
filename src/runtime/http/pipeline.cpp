#include "runtime/http/pipeline.h"

#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "runtime/problem.h"
#include "runtime/server_observer.h"

namespace stoa::http {
namespace {

Response failed(const Request& request) {
  return problem_response(500, "The server failed to handle this request.", request.path);
}

void report(ServerObserver* observer, std::string_view where, std::exception_ptr error) {
  if (!observer) return;
  try {
    std::rethrow_exception(std::move(error));
  } catch (const std::exception& e) {
    observer->server_error(where, e.what());
  } catch (...) {
    observer->server_error(where, "unknown exception");
  }
}

Response to_response(Result<Response> answer, const Request& request) {
  if (answer) return std::move(answer).value();
  return problem_for(answer.error(), request.path);
}

// The router's answer when no route matched the path, or the method.
Response routing_answer(const Router::Match& match, const Request& request) {
  switch (match.outcome) {
    case Router::Outcome::not_found:
      return problem_response(404, "No resource at this path.", request.path);
    case Router::Outcome::method_not_allowed: {
      Response r = problem_response(
          405, request.method + " is not allowed here; allowed: " + match.allow + ".",
          request.path);
      r.headers.add("Allow", match.allow);
      return r;
    }
    case Router::Outcome::options:
    case Router::Outcome::found:
      break;
  }
  Response r;
  r.status = 204;
  r.headers.add("Allow", match.allow);
  return r;
}

// The handler, or the router's own answer; exceptions become a 500.
Awaitable<Response> innermost(const Router::Match& match, Request& request,
                              ServerObserver* observer) {
  if (match.outcome != Router::Outcome::found) co_return routing_answer(match, request);
  try {
    co_return to_response(co_await match.route->handler(request), request);
  } catch (...) {
    report(observer, "handler", std::current_exception());
  }
  co_return failed(request);
}

// The filters' on_request in order, the innermost answer unless one of them answered, then
// on_response in reverse order.
Awaitable<Response> filtered(const FilterChain& outer, const FilterChain* inner,
                             const Router::Match& match, Request& request,
                             ServerObserver* observer) {
  std::vector<std::unique_ptr<Filter>> ran;
  ran.reserve(outer.size() + (inner ? inner->size() : 0));
  std::optional<Response> answer;
  for (const FilterChain* chain : {&outer, inner}) {
    if (chain == nullptr) continue;
    for (const auto& factory : *chain) {
      if (answer) break;
      try {
        auto filter = factory->create();
        if (!filter) throw std::logic_error("a filter factory made no filter");
        ran.push_back(std::move(filter));
        Verdict verdict = co_await ran.back()->on_request(request);
        if (verdict) answer = to_response(std::move(*verdict), request);
      } catch (...) {
        report(observer, "filter", std::current_exception());
        answer = failed(request);
      }
    }
  }
  if (!answer) answer = co_await innermost(match, request, observer);

  Response response = std::move(*answer);
  for (auto it = ran.rbegin(); it != ran.rend(); ++it) {
    try {
      (*it)->on_response(request, response);
    } catch (...) {
      report(observer, "filter", std::current_exception());
      response = failed(request);
    }
  }
  co_return response;
}

}  // namespace

// Not a coroutine itself: without filters the handler's frame is the only one added.
Awaitable<Response> respond(const Router& router, const Router::Match& match, Request& request,
                            ServerObserver* observer) {
  const FilterChain& outer = router.filters();
  const FilterChain* inner =
      match.outcome == Router::Outcome::found ? &match.route->options.filters : nullptr;
  if (outer.empty() && (inner == nullptr || inner->empty())) {
    return innermost(match, request, observer);
  }
  return filtered(outer, inner, match, request, observer);
}

}  // namespace stoa::http
