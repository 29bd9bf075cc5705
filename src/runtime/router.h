#pragma once
// Method + path-template routing. Templates are literal segments, `{name}` parameters and a
// final `{name...}` that takes the rest of the path. Literal segments win over parameters.
// HEAD falls back to GET (body dropped by the server); OPTIONS answers with Allow; a path
// that exists under other methods gets 405 with Allow.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/async.h"
#include "runtime/http_types.h"

namespace stoa::http {

using Handler = std::function<Awaitable<Response>(Request&)>;

struct RouteOptions {
  std::uint64_t max_body_bytes = 0;  // 0: the server's default limit
  // The handler reads the body from Request::body_stream as it needs it, instead of the
  // server reading it whole into Request::body first (large uploads).
  bool stream_body = false;
  // Builds the refusal of a body over the limit (default: a 413 problem document), so that an
  // API with its own error format (S3 XML) keeps it. Called with the limit in bytes.
  std::function<Response(const Request&, std::uint64_t limit)> too_large{};
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
};

}  // namespace stoa::http
