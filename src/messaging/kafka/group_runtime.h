#pragma once
// Internal to the Kafka adapter. One Kafka consumer per group per broker object, shared by
// every Consumer of that group in this process: a poll thread fetches, this process's
// consumers take leases on what it fetched (prefetch, visibility timeout, nack, reject), and
// an offset is committed only when every delivery before it in that partition was settled.
// Across processes, Kafka's group protocol splits the partitions.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "messaging/kafka/producer.h"

namespace stoa::messaging::kafka {

class GroupRuntime;

// One Consumer's own state inside its group's runtime.
struct ConsumerSlot {
  std::size_t prefetch = 0;
  std::set<std::uint64_t> leased;
  bool closed = false;
};

// What this process knows of a group, for groups().
struct LocalView {
  std::uint64_t leased = 0;       // delivered, not settled
  std::uint64_t main_held = 0;    // from the group's topics, leased or being settled
  std::uint64_t retry_ready = 0;  // from the retry topic, due
  std::uint64_t retry_held = 0;   // from the retry topic, ready, leased or being settled
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> committable;
};

class GroupRuntime : public std::enable_shared_from_this<GroupRuntime> {
 public:
  static Result<std::shared_ptr<GroupRuntime>> start(const KafkaSettings& settings,
                                                     const BrokerOptions& options,
                                                     std::string group,
                                                     std::vector<std::string> topics,
                                                     std::shared_ptr<Producer> producer);
  ~GroupRuntime();

  const std::string& group() const { return group_; }
  bool assigned() const { return assigned_.load(); }
  Status resubscribe(std::vector<std::string> topics);
  LocalView view();
  rd_kafka_t* handle() { return handle_.get(); }
  // Commits what is settled, leaves the group and stops the poll thread. Idempotent.
  void stop();

  Awaitable<Result<Delivery>> receive(ConsumerSlot& slot, std::chrono::milliseconds wait);
  Status ack(ConsumerSlot& slot, const Delivery& delivery);
  Awaitable<Status> nack(ConsumerSlot& slot, Delivery delivery, std::string reason,
                         std::optional<std::chrono::milliseconds> delay);
  Awaitable<Status> reject(ConsumerSlot& slot, Delivery delivery, std::string reason);
  void close(ConsumerSlot& slot);

 private:
  struct Entry;
  struct Track;
  struct Waiter;
  using Clock = std::chrono::steady_clock;

  GroupRuntime(const BrokerOptions& options, std::string group, std::shared_ptr<Producer> producer);
  void poll_loop();
  void on_message(const rd_kafka_message_t& message);
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);
  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque);
  void commit(bool sync);

  struct Pick {
    std::optional<Error> error;
    std::shared_ptr<boost::asio::steady_timer> timer;
    Delivery delivery;
    std::shared_ptr<const std::string> envelope;
  };
  Pick pick(ConsumerSlot& slot, Clock::time_point deadline,
            const boost::asio::any_io_executor& executor);
  void forget_waiter(const std::shared_ptr<boost::asio::steady_timer>& timer);
  std::optional<Delivery> decode_or_dead_letter(Pick& pick);

  // Mutex held.
  void unindex(std::uint64_t tag, Entry& e);
  void make_ready(std::uint64_t tag, Entry& e);
  void settle(std::uint64_t tag);
  std::vector<std::uint64_t> promote_due(Clock::time_point now);
  std::vector<std::shared_ptr<boost::asio::steady_timer>> take_waiters(
      const ConsumerSlot* only = nullptr);

  // Produces `tag` to the dead-letter topic; on success it is settled, otherwise ready again.
  Outgoing dead_record(const Entry& e, const std::string& reason) const;
  void dead_letter_async(std::uint64_t tag, std::string reason);
  // A nack (to the retry topic) or a reject (to the dead-letter topic): produced, then settled.
  Awaitable<Status> divert(ConsumerSlot& slot, Delivery delivery, bool reject, std::string reason,
                           std::optional<std::chrono::milliseconds> delay);
  Result<Outgoing> begin_divert(ConsumerSlot& slot, const Delivery& delivery, bool reject,
                                const std::string& reason,
                                std::optional<std::chrono::milliseconds> delay);
  void finish_divert(std::uint64_t tag, const Status& status);

  BrokerOptions options_;
  std::string group_;
  std::string retry_topic_;
  std::shared_ptr<Producer> producer_;
  Handle handle_;
  std::thread poller_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> assigned_{false};
  bool stopped_ = false;

  std::mutex mutex_;
  std::map<std::uint64_t, std::unique_ptr<Entry>> entries_;
  std::set<std::uint64_t> ready_;
  std::set<std::pair<Clock::time_point, std::uint64_t>> timers_;
  std::map<std::pair<std::string, std::int32_t>, std::unique_ptr<Track>> tracks_;
  std::vector<std::unique_ptr<Waiter>> waiters_;
  std::uint64_t next_tag_ = 1;
  std::uint64_t next_lease_ = 1;
  bool commit_due_ = false;
};

}  // namespace stoa::messaging::kafka
