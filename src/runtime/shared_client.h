#pragma once
// A client of a server that the components of one process share (the database, the broker):
// opened on first use, checked by admin /readyz through its ping(), and closed - its
// background work stopped - when the process releases it, before the event loop goes.
#include <functional>
#include <memory>
#include <string>

#include "runtime/async.h"
#include "runtime/component.h"
#include "runtime/error.h"

namespace stoa {

// T needs `Awaitable<Status> ping()` and `void close()`. `open` throws std::exception with a
// message for a person when the client cannot be opened.
template <class T>
std::shared_ptr<T> shared_client(ComponentHost& host, const std::string& name,
                                 const std::function<std::shared_ptr<T>()>& open) {
  return host.shared<T>(name, [&host, &name, &open]() -> std::shared_ptr<T> {
    std::shared_ptr<T> client = open();
    std::weak_ptr<T> weak = client;
    const std::string closed = "the " + name + " is closed";
    host.add_readiness_check(name, [weak, closed]() -> Awaitable<Status> {
      auto alive = weak.lock();
      if (!alive) co_return Error{Errc::unavailable, closed};
      co_return co_await alive->ping();
    });
    return std::shared_ptr<T>(client.get(), [client](T*) mutable {
      client->close();
      client.reset();
    });
  });
}

}  // namespace stoa
