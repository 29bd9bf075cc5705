#pragma once
// Request filters, in Envoy's shape: a FilterFactory holds a filter's configuration, immutable
// and shared by every request on every thread; for each request it makes a fresh Filter, whose
// members are that request's state. A chain of them runs around the handler
// (runtime/http/pipeline.h): on_request in order, each one passing the request on or answering
// it; then on_response in reverse order. Authentication and authorization
// (runtime/http/auth_filters.h), and later CORS, rate limits and the WAF, are filters.
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "runtime/async.h"
#include "runtime/error.h"
#include "runtime/http_types.h"

namespace stoa::http {

// What on_request decides: empty to pass the request on (the next filter, then the handler),
// or the answer: a Response, or an Error that becomes its problem document (problem_for).
// `co_return kContinue;`, `co_return response;`, `co_return Error{...};` all convert.
using Verdict = std::optional<Result<Response>>;
inline constexpr std::nullopt_t kContinue = std::nullopt;

// One request's instance of a filter. Not shared between requests, so it may keep state from
// on_request to on_response without locking.
class Filter {
 public:
  virtual ~Filter() = default;
  // Before the handler. May suspend (a token check, a cache call): the request waits, the
  // thread serves others. A filter that answers stops the chain: later filters and the handler
  // do not run. An exception answers 500.
  virtual Awaitable<Verdict> on_request(Request& request);
  // After the answer, for every filter whose on_request ran (the one that answered included),
  // last first, whoever answered: a later filter, the handler, the router (404, 405), or the
  // pipeline (500). May change the response (headers); must not suspend.
  virtual void on_response(const Request& request, Response& response);
};

// A filter's shared configuration. create() runs once per request, on any thread.
class FilterFactory {
 public:
  virtual ~FilterFactory() = default;
  virtual std::unique_ptr<Filter> create() const = 0;
};

using FilterChain = std::vector<std::shared_ptr<const FilterFactory>>;

// A factory from a function that makes the filter (capturing the shared configuration).
std::shared_ptr<const FilterFactory> filter_factory(std::function<std::unique_ptr<Filter>()> make);

}  // namespace stoa::http
