// The API gateway (edge/gateway). In the foundation it is the first component on the
// platform: it listens on [gateway] listen and answers GET /v1/ping, so that the edge, the
// load balancer and the benchmarks have a real endpoint. Routing to services, token checks,
// rate limits and the WAF arrive with their issues.
#include <memory>

#include "runtime/component.h"
#include "runtime/http_server.h"
#include "runtime/router.h"

namespace stoa::edge {
namespace {

class Gateway final : public Component {
 public:
  void start(ComponentHost& host) override {
    auto router = std::make_shared<http::Router>();
    router->add("GET", "/v1/ping", [](http::Request&) -> Awaitable<Result<http::Response>> {
      co_return http::Response::json(200, R"({"status":"ok"})");
    });
    host.serve("gateway", std::move(router));
  }
};

[[maybe_unused]] const bool registered = register_component({
    .name = "gateway",
    .description = "API gateway: routing, token checks, rate limits, WAF (port 8000)",
    .order = 900,
    .make = [] { return std::make_unique<Gateway>(); },
});

}  // namespace
}  // namespace stoa::edge
