#pragma once
// Waiting, in a coroutine, for work that finishes on another thread: the embedded broker's
// log writer, the RabbitMQ adapter's connection thread. The caller resumes on its own
// executor, never on the thread that finished the work.
#include <functional>

#include "runtime/async.h"
#include "runtime/error.h"

namespace stoa::messaging {

// Called exactly once, from any thread, with the outcome.
using Complete = std::function<void(Status)>;
// Starts the work and hands it `complete`.
using Submit = std::function<void(Complete complete)>;

// Runs `submit(complete)` and waits until `complete(Status)` is called.
Awaitable<Status> await_completion(Submit submit);

}  // namespace stoa::messaging
