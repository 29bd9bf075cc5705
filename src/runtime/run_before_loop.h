#pragma once
// Start-up work that must finish before the process serves (applying migrations, loading
// state): Component::start() is synchronous and runs before EventLoop::run(), so it cannot
// co_await. This runs one coroutine to completion on the loop's context 0 from the calling
// thread; the context stays ready for run().
#include <functional>

#include "runtime/async.h"

namespace stoa {

class EventLoop;

// Runs `task()` on loop.context(0) until it finishes; rethrows what it throws. Only before
// loop.run() (or after it returned), from the thread that will call run(): otherwise the
// context is run by two threads at once.
void run_before_loop(EventLoop& loop, const std::function<Awaitable<void>()>& task);

}  // namespace stoa
