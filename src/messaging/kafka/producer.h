#pragma once
// Internal to the Kafka adapter. The idempotent producer (enable.idempotence, acks=all) and
// its delivery-report thread: librdkafka's threads never run a coroutine; a delivery report
// completes a callback, and produce_and_wait() resumes its caller on the caller's executor.
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "messaging/kafka/kafka_client.h"
#include "runtime/async.h"

namespace stoa::messaging::kafka {

struct Outgoing {
  std::string topic;
  std::string key;  // "" = no key
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

class Producer {
 public:
  using Done = std::function<void(Status)>;

  static Result<std::unique_ptr<Producer>> open(const KafkaSettings& settings,
                                                std::size_t max_message_bytes);
  ~Producer();

  // Calls `done` exactly once: with Ok once the cluster holds the message (acks=all), with
  // the error otherwise — from the delivery-report thread, or at once when librdkafka refuses
  // it (queue full, too large). Never blocks.
  void produce(const Outgoing& message, Done done);
  rd_kafka_t* handle() { return handle_.get(); }
  // Waits for what is in flight (up to `flush`), then stops the report thread. Idempotent.
  void close(std::chrono::milliseconds flush);

 private:
  explicit Producer(Handle handle);

  Handle handle_;
  std::atomic<bool> stopping_{false};
  std::thread reports_;
};

// Waits until `start(done)` has its `done(Status)` called, from any thread; the caller
// resumes on its own executor.
Awaitable<Status> wait_for(std::function<void(Producer::Done done)> start);

Awaitable<Status> produce_and_wait(Producer& producer, Outgoing message);

}  // namespace stoa::messaging::kafka
