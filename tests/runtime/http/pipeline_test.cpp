// The request pipeline: filters around the handler, in order and in reverse, answering early,
// suspending, per router and per route, errors as problem documents and exceptions as 500s.
#include "runtime/http/pipeline.h"

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/json.h"
#include "runtime/server_observer.h"
#include "support/run_sync.h"

namespace stoa::http {
namespace {

using namespace std::chrono_literals;
using Log = std::vector<std::string>;

// What a recording filter does in on_request.
enum class Act { pass, answer, fail, throw_error, wait };

// Records its calls in a shared log, and does what it is told.
class Recording final : public Filter {
 public:
  Recording(std::string name, Act act, std::shared_ptr<Log> log)
      : name_(std::move(name)), act_(act), log_(std::move(log)) {}

  Awaitable<Verdict> on_request(Request& request) override {
    log_->push_back(name_ + ".request");
    request.headers.add("X-Seen-By", name_);
    switch (act_) {
      case Act::pass:
        break;
      case Act::answer:
        co_return Response::text(299, "answered by " + name_);
      case Act::fail:
        co_return Error{Errc::permission_denied, name_ + " says no"};
      case Act::throw_error:
        throw std::runtime_error(name_ + " broke");
      case Act::wait: {
        // A real suspension: the coroutine resumes from the timer's completion.
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 5ms);
        co_await timer.async_wait(boost::asio::use_awaitable);
        state_ = "waited";
        break;
      }
    }
    co_return kContinue;
  }

  void on_response(const Request&, Response& response) override {
    log_->push_back(name_ + ".response");
    response.headers.add("X-Filter", name_ + state_);
  }

 private:
  std::string name_;
  Act act_;
  std::shared_ptr<Log> log_;
  std::string state_;  // per request: set in on_request, read in on_response
};

std::shared_ptr<const FilterFactory> recording(std::string name, std::shared_ptr<Log> log,
                                               Act act = Act::pass) {
  return filter_factory([name, log, act] { return std::make_unique<Recording>(name, act, log); });
}

Handler logging_handler(std::shared_ptr<Log> log) {
  return [log](Request& request) -> Awaitable<Result<Response>> {
    log->push_back("handler");
    std::string seen;
    for (const auto& [name, value] : request.headers) {
      if (name == "X-Seen-By") seen += value + ",";
    }
    co_return Response::text(200, seen);
  };
}

class Observer final : public ServerObserver {
 public:
  void server_error(std::string_view what, std::string_view detail) override {
    errors.push_back(std::string(what) + ": " + std::string(detail));
  }
  std::vector<std::string> errors;
};

Response serve(const Router& router, const std::string& method, const std::string& path,
               Observer* observer = nullptr) {
  auto request = std::make_shared<Request>();
  request->method = method;
  request->path = path;
  request->target = path;
  auto match = std::make_shared<Router::Match>(router.match(method, path));
  if (match->outcome == Router::Outcome::found) request->route = match->route->path_template;
  request->params = match->params;
  return test::run_sync(
      [&router, match, request, observer]() -> Awaitable<Response> {
        co_return co_await respond(router, *match, *request, observer);
      },
      10s);
}

std::string detail_of(const Response& response) {
  auto doc = json::parse(response.body);
  if (!doc || !doc->is_object() || !doc->as_object().contains("detail")) return "";
  return std::string(doc->as_object().at("detail").as_string());
}

TEST(Pipeline, RouteWithoutFiltersRunsItsHandler) {
  auto log = std::make_shared<Log>();
  Router router;
  router.add("GET", "/x", logging_handler(log));
  auto response = serve(router, "GET", "/x");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(*log, Log{"handler"});
}

TEST(Pipeline, RouterFiltersThenRouteFiltersThenHandlerThenResponsesInReverse) {
  auto log = std::make_shared<Log>();
  Router router;
  router.use(recording("outer1", log));
  router.use(recording("outer2", log));
  router.add("GET", "/x", logging_handler(log),
             RouteOptions{.filters = {recording("inner1", log), recording("inner2", log)}});
  auto response = serve(router, "GET", "/x");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "outer1,outer2,inner1,inner2,");
  EXPECT_EQ(*log,
            (Log{"outer1.request", "outer2.request", "inner1.request", "inner2.request", "handler",
                 "inner2.response", "inner1.response", "outer2.response", "outer1.response"}));
  // Each filter decorated the response; the last to see it is the first filter.
  std::vector<std::string> decorated;
  for (const auto& [name, value] : response.headers) {
    if (name == "X-Filter") decorated.push_back(value);
  }
  EXPECT_EQ(decorated, (std::vector<std::string>{"inner2", "inner1", "outer2", "outer1"}));
}

TEST(Pipeline, AFilterThatAnswersStopsTheChainAndTheHandler) {
  auto log = std::make_shared<Log>();
  Router router;
  router.add("GET", "/x", logging_handler(log),
             RouteOptions{.filters = {recording("a", log), recording("b", log, Act::answer),
                                      recording("c", log)}});
  auto response = serve(router, "GET", "/x");
  EXPECT_EQ(response.status, 299);
  EXPECT_EQ(response.body, "answered by b");
  // The filter that answered, and those before it, see the response; c never ran.
  EXPECT_EQ(*log, (Log{"a.request", "b.request", "b.response", "a.response"}));
}

TEST(Pipeline, AFilterErrorBecomesAProblemDocumentForThePath) {
  auto log = std::make_shared<Log>();
  Router router;
  router.add("GET", "/v1/things/{id}", logging_handler(log),
             RouteOptions{.filters = {recording("guard", log, Act::fail)}});
  auto response = serve(router, "GET", "/v1/things/7");
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.headers.get("Content-Type"), "application/problem+json");
  auto doc = json::parse(response.body).value().as_object();
  EXPECT_EQ(doc.at("detail"), "guard says no");
  EXPECT_EQ(doc.at("instance"), "/v1/things/7");
  EXPECT_EQ(*log, (Log{"guard.request", "guard.response"}));
}

TEST(Pipeline, AHandlerErrorBecomesAProblemDocumentWithItsHeaders) {
  Router router;
  router.add("POST", "/login", [](Request&) -> Awaitable<Result<Response>> {
    co_return Error{Errc::resource_exhausted, "slow down", std::chrono::seconds(7)};
  });
  router.add("GET", "/me", [](Request&) -> Awaitable<Result<Response>> {
    co_return Error{Errc::unauthenticated, "who are you"};
  });
  auto limited = serve(router, "POST", "/login");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers.get("Retry-After"), "7");
  EXPECT_EQ(detail_of(limited), "slow down");
  auto anonymous = serve(router, "GET", "/me");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.headers.get("WWW-Authenticate"), "Bearer");
}

TEST(Pipeline, AFilterMaySuspendAndKeepsItsStateForTheResponse) {
  auto log = std::make_shared<Log>();
  Router router;
  router.add("GET", "/x", logging_handler(log),
             RouteOptions{.filters = {recording("slow", log, Act::wait)}});
  auto response = serve(router, "GET", "/x");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.get("X-Filter"), "slowwaited");
  EXPECT_EQ(*log, (Log{"slow.request", "handler", "slow.response"}));
}

TEST(Pipeline, EachRequestGetsFreshFilterState) {
  auto log = std::make_shared<Log>();
  int made = 0;
  Router router;
  router.add("GET", "/x", logging_handler(log),
             RouteOptions{.filters = {filter_factory([&made, log] {
                            ++made;
                            return std::make_unique<Recording>("f", Act::pass, log);
                          })}});
  serve(router, "GET", "/x");
  serve(router, "GET", "/x");
  EXPECT_EQ(made, 2);
}

TEST(Pipeline, ExceptionsInFiltersAndHandlersAnswer500AndAreReported) {
  auto log = std::make_shared<Log>();
  Router router;
  router.use(recording("outer", log));
  router.add("GET", "/filter", logging_handler(log),
             RouteOptions{.filters = {recording("broken", log, Act::throw_error)}});
  router.add("GET", "/handler", [](Request&) -> Awaitable<Result<Response>> {
    throw std::runtime_error("handler broke");
    co_return Response::text(200, "unreachable");
  });
  Observer observer;
  auto from_filter = serve(router, "GET", "/filter", &observer);
  EXPECT_EQ(from_filter.status, 500);
  EXPECT_EQ(from_filter.body.find("broke"), std::string::npos) << "never shown to the client";
  // The filters that ran still see the 500 (a CORS filter decorates errors too).
  EXPECT_EQ(*log, (Log{"outer.request", "broken.request", "broken.response", "outer.response"}));
  auto from_handler = serve(router, "GET", "/handler", &observer);
  EXPECT_EQ(from_handler.status, 500);
  EXPECT_EQ(from_handler.headers.get("X-Filter"), "outer");
  EXPECT_EQ(observer.errors,
            (std::vector<std::string>{"filter: broken broke", "handler: handler broke"}));
}

TEST(Pipeline, AnExceptionInOnResponseAnswers500) {
  class Throws final : public Filter {
    void on_response(const Request&, Response&) override { throw std::runtime_error("late"); }
  };
  Router router;
  router.add(
      "GET", "/x",
      [](Request&) -> Awaitable<Result<Response>> { co_return Response::text(200, "fine"); },
      RouteOptions{.filters = {filter_factory([] { return std::make_unique<Throws>(); })}});
  Observer observer;
  EXPECT_EQ(serve(router, "GET", "/x", &observer).status, 500);
  EXPECT_EQ(observer.errors, std::vector<std::string>{"filter: late"});
}

TEST(Pipeline, RouterFiltersSeeNotFoundMethodNotAllowedAndOptions) {
  auto log = std::make_shared<Log>();
  Router router;
  router.use(recording("cors", log));
  router.add("GET", "/x", logging_handler(log),
             RouteOptions{.filters = {recording("route-only", log)}});

  auto missing = serve(router, "GET", "/nowhere");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.headers.get("X-Filter"), "cors");
  EXPECT_EQ(detail_of(missing), "No resource at this path.");

  auto wrong_method = serve(router, "DELETE", "/x");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.headers.get("Allow"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(wrong_method.headers.get("X-Filter"), "cors");

  auto options = serve(router, "OPTIONS", "/x");
  EXPECT_EQ(options.status, 204);
  EXPECT_EQ(options.headers.get("X-Filter"), "cors");
  // A route's own filters run only for that route.
  EXPECT_EQ(*log, (Log{"cors.request", "cors.response", "cors.request", "cors.response",
                       "cors.request", "cors.response"}));
}

TEST(Pipeline, ARouterFilterMayAnswerForAPathNoRouteHas) {
  auto log = std::make_shared<Log>();
  Router router;
  router.use(recording("preflight", log, Act::answer));
  auto response = serve(router, "OPTIONS", "/anything");
  EXPECT_EQ(response.status, 299);
  EXPECT_EQ(response.body, "answered by preflight");
}

TEST(Pipeline, ResponseHandlersAreAdaptedByAdd) {
  Router router;
  router.add("GET", "/plain",
             [](Request&) -> Awaitable<Response> { co_return Response::text(201, "plain"); });
  auto response = serve(router, "GET", "/plain");
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "plain");
}

}  // namespace
}  // namespace stoa::http
