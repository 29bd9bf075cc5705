#pragma once
// Threads for work that must not run on the network threads: CPU-heavy (password hashing) or
// blocking (a library without an asynchronous API). A coroutine hands work over and resumes
// on its own event-loop thread when the work is done. The queue is bounded, so a flood of
// expensive requests is refused (Errc::unavailable) instead of piling up without end.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "runtime/async.h"
#include "runtime/error.h"

namespace stoa {

class ComponentHost;

class WorkerPool {
 public:
  // threads == 0: one per core.
  WorkerPool(std::size_t threads, std::size_t max_queued);
  ~WorkerPool();  // finishes the work already queued, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `work` on a pool thread; the caller resumes on its own executor. Errc::unavailable
  // when max_queued tasks are already waiting. An exception from `work` becomes
  // Errc::internal with its message.
  Awaitable<Status> execute(std::function<void()> work);

  template <class T>
  Awaitable<Result<T>> run(std::function<Result<T>()> work) {
    auto out = std::make_shared<std::optional<Result<T>>>();
    // Named, not a temporary in the co_await expression: GCC 12 would destroy it twice.
    std::function<void()> task = [out, work = std::move(work)] { out->emplace(work()); };
    auto status = co_await execute(std::move(task));
    if (!status) co_return status.error();
    co_return std::move(**out);
  }

  std::size_t threads() const;
  std::size_t queued() const;  // waiting or running now

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The process's pool, shared by its components: [process] worker_threads, max_queued_work.
std::shared_ptr<WorkerPool> worker_pool(ComponentHost& host);

}  // namespace stoa
