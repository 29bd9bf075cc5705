#include "runtime/router.h"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace stoa::http {

// A trie over path segments. Each node holds literal children, at most one `{param}` child
// and at most one `{rest...}` tail, and the routes that end there, by method.
struct Router::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
  std::unique_ptr<Node> param;
  std::string param_name;
  std::unique_ptr<Node> tail;  // `{name...}`: matches the rest of the path, possibly empty
  std::string tail_name;
  std::map<std::string, Route, std::less<>> routes;  // by method
};

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path.front() != '/') return segments;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::string allow_header(const std::map<std::string, Route, std::less<>>& routes) {
  std::vector<std::string> methods;
  for (const auto& [method, route] : routes) methods.push_back(method);
  if (routes.contains("GET") && !routes.contains("HEAD")) methods.push_back("HEAD");
  if (!routes.contains("OPTIONS")) methods.push_back("OPTIONS");
  std::sort(methods.begin(), methods.end());
  std::string allow;
  for (const auto& m : methods) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  return allow;
}

}  // namespace

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::add(std::string method, std::string path_template, Handler handler,
                 RouteOptions options) {
  if (path_template.empty() || path_template.front() != '/') {
    throw std::invalid_argument("route template must start with '/': " + path_template);
  }
  Node* node = root_.get();
  auto segments = split_path(path_template);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    std::string_view segment = segments[i];
    if (is_param(segment)) {
      std::string_view name = segment.substr(1, segment.size() - 2);
      if (name.size() > 3 && name.ends_with("...")) {
        if (i + 1 != segments.size()) {
          throw std::invalid_argument("'{name...}' must be the last segment: " + path_template);
        }
        name.remove_suffix(3);
        if (!node->tail) node->tail = std::make_unique<Node>();
        node->tail_name = std::string(name);
        node = node->tail.get();
        continue;
      }
      if (!node->param) {
        node->param = std::make_unique<Node>();
        node->param_name = std::string(name);
      } else if (node->param_name != name) {
        throw std::invalid_argument("conflicting parameter names at " + path_template);
      }
      node = node->param.get();
    } else {
      if (segment.find_first_of("{}") != std::string_view::npos) {
        throw std::invalid_argument("malformed route segment in " + path_template);
      }
      auto it = node->literals.find(segment);
      if (it == node->literals.end()) {
        it = node->literals.emplace(std::string(segment), std::make_unique<Node>()).first;
      }
      node = it->second.get();
    }
  }
  if (node->routes.contains(method)) {
    throw std::invalid_argument("duplicate route " + method + " " + path_template);
  }
  std::string key = method;
  node->routes.emplace(std::move(key), Route{std::move(method), std::move(path_template),
                                             std::move(handler), std::move(options)});
}

void Router::add(std::string method, std::string path_template, ResponseHandler handler,
                 RouteOptions options) {
  add(
      std::move(method), std::move(path_template),
      [handler = std::move(handler)](Request& request) -> Awaitable<Result<Response>> {
        co_return co_await handler(request);
      },
      std::move(options));
}

void Router::use(std::shared_ptr<const FilterFactory> filter) {
  filters_.push_back(std::move(filter));
}

namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

// Depth-first: literal, then parameter, then tail, so the most specific route wins.
const Router::Node* find(const Router::Node* node, const std::vector<std::string_view>& segments,
                         std::size_t index, Params& params) {
  if (index == segments.size()) {
    if (!node->routes.empty()) return node;
    if (node->tail && !node->tail->routes.empty()) {
      params.emplace_back(node->tail_name, "");
      return node->tail.get();
    }
    return nullptr;
  }
  std::string_view segment = segments[index];
  if (auto it = node->literals.find(segment); it != node->literals.end()) {
    if (const auto* found = find(it->second.get(), segments, index + 1, params)) return found;
  }
  if (node->param && !segment.empty()) {
    if (auto decoded = percent_decode(segment)) {
      params.emplace_back(node->param_name, std::move(*decoded));
      if (const auto* found = find(node->param.get(), segments, index + 1, params)) return found;
      params.pop_back();
    }
  }
  if (node->tail && !node->tail->routes.empty()) {
    std::string rest;
    for (std::size_t i = index; i < segments.size(); ++i) {
      if (i > index) rest += '/';
      rest += segments[i];
    }
    if (auto decoded = percent_decode(rest)) {
      params.emplace_back(node->tail_name, std::move(*decoded));
      return node->tail.get();
    }
  }
  return nullptr;
}

}  // namespace

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match result;
  auto segments = split_path(path);
  if (segments.empty()) return result;
  const Node* node = find(root_.get(), segments, 0, result.params);
  if (node == nullptr) {
    result.params.clear();
    return result;
  }
  auto it = node->routes.find(method);
  if (it == node->routes.end() && method == "HEAD") it = node->routes.find("GET");
  if (it != node->routes.end()) {
    result.outcome = Outcome::found;
    result.route = &it->second;
    return result;
  }
  result.allow = allow_header(node->routes);
  result.outcome = method == "OPTIONS" ? Outcome::options : Outcome::method_not_allowed;
  result.params.clear();
  return result;
}

}  // namespace stoa::http
