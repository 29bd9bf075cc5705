#pragma once
// The request pipeline: what answers a routed request. The router's filters run, then (for a
// matched route) the route's filters, then the handler; or, when the path did not match, the
// router's own answer (404, 405, OPTIONS) in the handler's place. Any of them may answer; an
// Error becomes its problem document here, with the request path as `instance`
// (problem_for), the one place a handler's or a filter's Error is turned into HTTP. Every
// filter whose on_request ran then sees the response, last first. An exception from a filter
// or the handler answers 500 (reported to the observer, never shown to the client).
//
// A route without filters (on it or on its router) costs a branch: its handler runs directly.
#include "runtime/async.h"
#include "runtime/http_types.h"
#include "runtime/router.h"

namespace stoa::http {

class ServerObserver;

// Answers `request`, whose routing is `match` (request.route and request.params already set
// from it). `observer` may be null.
Awaitable<Response> respond(const Router& router, const Router::Match& match, Request& request,
                            ServerObserver* observer);

}  // namespace stoa::http
