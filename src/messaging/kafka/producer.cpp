#include "messaging/kafka/producer.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>

namespace stoa::messaging::kafka {

namespace asio = boost::asio;

namespace {

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  auto* done = static_cast<Producer::Done*>(message->_private);
  if (done == nullptr) return;
  if (message->err) {
    (*done)(kafka_error(message->err, "publishing to Kafka topic " +
                                          std::string(rd_kafka_topic_name(message->rkt))));
  } else {
    (*done)(Ok{});
  }
  delete done;
}

}  // namespace

Result<std::unique_ptr<Producer>> Producer::open(const KafkaSettings& settings,
                                                 std::size_t max_message_bytes) {
  std::vector<std::pair<std::string, std::string>> fixed = {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      // The envelope's bound plus room for the headers and the record's framing.
      {"message.max.bytes",
       std::to_string(std::max<std::size_t>(1'000'000, max_message_bytes + 65536))},
  };
  bool timeout_set = false;
  for (const auto& [key, value] : settings.properties) {
    timeout_set = timeout_set || key == "message.timeout.ms" || key == "delivery.timeout.ms";
  }
  // librdkafka's default is 5 minutes; a publish should fail sooner when the cluster is gone.
  if (!timeout_set) fixed.emplace_back("message.timeout.ms", "30000");
  auto handle = make_handle(RD_KAFKA_PRODUCER, settings, fixed, [](rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  });
  if (!handle) return handle.error();
  return std::unique_ptr<Producer>(new Producer(std::move(handle).value()));
}

Producer::Producer(Handle handle) : handle_(std::move(handle)) {
  reports_ = std::thread([this] {
    while (!stopping_.load()) rd_kafka_poll(handle_.get(), 100);
  });
}

Producer::~Producer() {
  close(std::chrono::milliseconds(5000));
}

void Producer::produce(const Outgoing& message, Done done) {
  std::vector<std::pair<std::string, std::string>> const& hs = message.headers;
  rd_kafka_headers_t* headers = rd_kafka_headers_new(hs.size());
  for (const auto& [name, value] : hs) {
    rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  auto* opaque = new Done(std::move(done));
  const auto err = rd_kafka_producev(
      handle_.get(), RD_KAFKA_V_TOPIC(message.topic.c_str()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_VALUE(const_cast<char*>(message.value.data()), message.value.size()),
      RD_KAFKA_V_KEY(message.key.empty() ? nullptr : message.key.data(), message.key.size()),
      RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err) {
    rd_kafka_headers_destroy(headers);  // not taken on failure
    (*opaque)(kafka_error(err, "publishing to Kafka topic " + message.topic));
    delete opaque;
  }
}

void Producer::close(std::chrono::milliseconds flush) {
  if (stopping_.load()) return;
  rd_kafka_flush(handle_.get(), static_cast<int>(flush.count()));
  // What is still queued fails now (its callbacks run in the purge's poll below).
  rd_kafka_purge(handle_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  stopping_ = true;
  if (reports_.joinable()) reports_.join();
  rd_kafka_poll(handle_.get(), 0);
}

namespace {

struct Completion {
  std::mutex mutex;
  bool done = false;
  Status status = Ok{};
  std::shared_ptr<asio::steady_timer> timer;
};

}  // namespace

Awaitable<Status> wait_for(std::function<void(Producer::Done done)> start) {
  auto executor = co_await asio::this_coro::executor;
  auto completion = std::make_shared<Completion>();
  completion->timer =
      std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
  Producer::Done done = [completion](Status status) {
    {
      std::lock_guard lock(completion->mutex);
      completion->done = true;
      completion->status = std::move(status);
    }
    auto timer = completion->timer;
    asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  };
  start(std::move(done));
  for (;;) {
    {
      std::lock_guard lock(completion->mutex);
      if (completion->done) co_return completion->status;
    }
    // The cancel is posted to this executor, so it cannot run before this wait starts.
    auto token = asio::as_tuple(asio::use_awaitable);
    co_await completion->timer->async_wait(token);
  }
}

Awaitable<Status> produce_and_wait(Producer& producer, Outgoing message) {
  auto shared = std::make_shared<Outgoing>(std::move(message));
  auto start = [&producer, shared](Producer::Done done) {
    producer.produce(*shared, std::move(done));
  };
  std::function<void(Producer::Done)> named = start;
  co_return co_await wait_for(std::move(named));
}

}  // namespace stoa::messaging::kafka
