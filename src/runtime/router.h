#pragma once
// Method + path-template routing. Templates are literal segments, `{name}` parameters and a
// final `{name...}` that takes the rest of the path. Literal segments win over parameters.
// HEAD falls back to GET (body dropped by the server); OPTIONS answers with Allow; a path
// that exists under other methods gets 405 with Allow. Filters (runtime/http/filter.h) attach
// to the whole router (use) and to single routes (RouteOptions::filters);
// runtime/http/pipeline.h runs them around the handler.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/async.h"
#include "runtime/error.h"
#include "runtime/http/filter.h"
#include "runtime/http_types.h"

namespace stoa::http {

// The one handler type of a route: an Error it returns is answered as its problem document
// (problem_for, with the request path as instance), in one place (runtime/http/pipeline.cpp).
using Handler = std::function<Awaitable<Result<Response>>(Request&)>;
// A handler that always builds its own Response (the admin listener, the S3 endpoint): add()
// adapts it to a Handler.
using ResponseHandler = std::function<Awaitable<Response>(Request&)>;

struct RouteOptions {
  std::uint64_t max_body_bytes = 0;  // 0: the server's default limit
  // The handler reads the body from Request::body_stream as it needs it, instead of the
  // server reading it whole into Request::body first (large uploads).
  bool stream_body = false;
  // Builds the refusal of a body over the limit (default: a 413 problem document), so that an
  // API with its own error format (S3 XML) keeps it. Called with the limit in bytes.
  std::function<Response(const Request&, std::uint64_t limit)> too_large{};
  // Run after the router's own filters, before the handler (runtime/http/pipeline.h).
  FilterChain filters{};
};

struct Route {
  std::string method;
  std::string path_template;
  Handler handler;
  RouteOptions options;
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Throws std::invalid_argument on a malformed template or a duplicate method+template.
  void add(std::string method, std::string path_template, Handler handler,
           RouteOptions options = {});
  void add(std::string method, std::string path_template, ResponseHandler handler,
           RouteOptions options = {});

  // Appends a filter that runs for every request this router answers, before the route's
  // own: matched routes, and the router's 404, 405 and OPTIONS answers too (a CORS filter must
  // see preflights and decorate errors). There `Request::route` is "" for a 404.
  void use(std::shared_ptr<const FilterFactory> filter);
  const FilterChain& filters() const { return filters_; }

  enum class Outcome { found, not_found, method_not_allowed, options };
  struct Match {
    Outcome outcome = Outcome::not_found;
    const Route* route = nullptr;  // set when found
    std::vector<std::pair<std::string, std::string>> params;
    std::string allow;  // set for method_not_allowed and options: "GET, HEAD, OPTIONS"
  };
  // `path` is the percent-encoded path; parameters come back decoded. A parameter whose
  // escapes are malformed does not match.
  Match match(std::string_view method, std::string_view path) const;

  struct Node;  // the trie, defined in router.cpp

 private:
  std::unique_ptr<Node> root_;
  FilterChain filters_;
};

}  // namespace stoa::http
