#include "messaging/rabbitmq/amqp_link.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "runtime/retry.h"

namespace stoa::messaging::rabbitmq {

namespace {

using Clock = std::chrono::steady_clock;

constexpr amqp_channel_t kPublishChannel = 1;  // confirm mode
constexpr amqp_channel_t kControlChannel = 2;  // declarations, passive declares, basic.get
constexpr amqp_channel_t kFirstConsumerChannel = 3;
constexpr int kHeartbeatSeconds = 10;
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kRpcTimeout = std::chrono::seconds(10);
// Reconnecting: 100 ms doubling to 5 s, for as long as it takes.
constexpr RetryPolicy kReconnect{.initial_delay = std::chrono::milliseconds(100),
                                 .max_delay = std::chrono::milliseconds(5000)};
constexpr auto kTick = std::chrono::milliseconds(50);
constexpr std::size_t kMaxBody =
    256u * 1024 * 1024;  // a frame loop must not allocate without bound

std::string to_string(amqp_bytes_t bytes) {
  return bytes.len == 0 ? std::string()
                        : std::string(static_cast<const char*>(bytes.bytes), bytes.len);
}

amqp_bytes_t bytes_of(const std::string& text) {
  amqp_bytes_t out;
  out.len = text.size();
  out.bytes = const_cast<char*>(text.data());
  return out;
}

timeval timeval_of(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

Error lost(std::string why) {
  return Error{Errc::unavailable, "RabbitMQ connection lost: " + std::move(why)};
}

// A delivery whose content frames are still arriving.
struct Partial {
  Inbound inbound;
  std::size_t body_size = 0;
  bool have_header = false;
};

struct Pending {
  Complete done;
  Clock::time_point deadline;
};

}  // namespace

struct AmqpLink::Impl final : Session {
  AmqpUrl url;
  Hooks hooks;

  // Shared with callers of run().
  mutable std::mutex mutex;
  std::deque<std::pair<Job, std::function<void(Error)>>> jobs;
  bool stopping = false;
  std::atomic<bool> up{false};
  std::string down_reason = "not connected yet";
  bool attempted = false;  // the first connection attempt has ended (wait_first_attempt)
  std::condition_variable attempted_cv;
  int wake_fd = -1;
  std::thread thread;

  // The link thread's own state.
  amqp_connection_state_t conn = nullptr;
  std::uint64_t gen = 0;
  bool broken = false;
  std::string broken_reason;
  std::uint64_t next_publish_tag = 1;
  std::map<std::uint64_t, Pending> pending;  // publish seq -> waiting for its confirm
  std::map<amqp_channel_t, std::function<void(Inbound)>> consumers;
  std::map<amqp_channel_t, Partial> partial;
  std::set<amqp_channel_t> free_channels, retired_channels;
  amqp_channel_t next_channel = kFirstConsumerChannel;
  bool browsing = false;

  Impl(AmqpUrl u, Hooks h) : url(std::move(u)), hooks(std::move(h)) {
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    thread = std::thread([this] { loop(); });
  }

  ~Impl() override { stop(); }

  void stop() {
    {
      std::lock_guard lock(mutex);
      if (stopping && !thread.joinable()) return;
      stopping = true;
    }
    wake();
    if (thread.joinable() && thread.get_id() != std::this_thread::get_id()) thread.join();
    if (wake_fd >= 0) {
      ::close(wake_fd);
      wake_fd = -1;
    }
  }

  void wake() const {
    if (wake_fd < 0) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  void drain_wake() const {
    std::uint64_t value = 0;
    [[maybe_unused]] auto n = ::read(wake_fd, &value, sizeof value);
  }

  void run(Job job, std::function<void(Error)> refused) {
    std::optional<Error> refusal;
    {
      std::lock_guard lock(mutex);
      if (stopping) {
        refusal = Error{Errc::cancelled, "the RabbitMQ broker is closed"};
      } else if (!up) {
        refusal =
            Error{Errc::unavailable, "RabbitMQ at " + url.host + ":" + std::to_string(url.port) +
                                         " is unavailable: " + down_reason};
      } else {
        jobs.emplace_back(std::move(job), std::move(refused));
      }
    }
    // Called without the lock: the callback may take the adapter's own.
    if (refusal) return refused(std::move(*refusal));
    wake();
  }

  // --- the thread ------------------------------------------------------------------------

  void loop() {
    Backoff backoff(kReconnect);
    for (;;) {
      {
        std::lock_guard lock(mutex);
        if (stopping) break;
      }
      if (conn == nullptr) {
        auto status = connect();
        if (!attempted) {
          std::lock_guard lock(mutex);
          attempted = true;
          attempted_cv.notify_all();
        }
        if (!status) {
          set_down(status.error().message);
          disconnect();
          refuse_jobs(Errc::unavailable);
          wait_for(*backoff.next_delay());  // never nullopt: kReconnect has no limit
          continue;
        }
        backoff.reset();
        {
          std::lock_guard lock(mutex);
          up = true;
          down_reason.clear();
        }
      }
      run_jobs();
      if (!broken) expire_confirms();
      if (!broken && hooks.on_tick) hooks.on_tick(*this);
      if (!broken) pump(kTick);
      if (broken) {
        set_down(broken_reason);
        disconnect();
        refuse_jobs(Errc::unavailable);
        if (hooks.on_disconnect) hooks.on_disconnect();
      }
    }
    set_down("the broker is closed");
    disconnect();
    refuse_jobs(Errc::cancelled);
  }

  void set_down(const std::string& why) {
    std::lock_guard lock(mutex);
    up = false;
    down_reason = why;
  }

  void wait_for(std::chrono::milliseconds ms) {
    pollfd p{wake_fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(ms.count()));
    drain_wake();
  }

  void refuse_jobs(Errc code) {
    std::deque<std::pair<Job, std::function<void(Error)>>> taken;
    std::string why;
    {
      std::lock_guard lock(mutex);
      taken.swap(jobs);
      why = down_reason;
    }
    for (auto& [job, refused] : taken) {
      refused(Error{code, code == Errc::cancelled ? "the RabbitMQ broker is closed"
                                                  : "RabbitMQ is unavailable: " + why});
    }
  }

  void run_jobs() {
    drain_wake();
    std::deque<std::pair<Job, std::function<void(Error)>>> taken;
    {
      std::lock_guard lock(mutex);
      taken.swap(jobs);
    }
    for (auto& [job, refused] : taken) {
      if (broken) {
        refused(lost(broken_reason));
        continue;
      }
      job(*this);
    }
  }

  Status connect() {
    broken = false;
    broken_reason.clear();
    conn = amqp_new_connection();
    if (conn == nullptr) return Error{Errc::internal, "out of memory"};
    amqp_socket_t* socket = amqp_tcp_socket_new(conn);
    if (socket == nullptr) return Error{Errc::internal, "cannot create a socket"};
    timeval connect_tv = timeval_of(kConnectTimeout);
    int rc = amqp_socket_open_noblock(socket, url.host.c_str(), url.port, &connect_tv);
    if (rc != AMQP_STATUS_OK) {
      return Error{Errc::unavailable, "cannot connect to " + url.host + ":" +
                                          std::to_string(url.port) + ": " + amqp_error_string2(rc)};
    }
    timeval rpc_tv = timeval_of(kRpcTimeout);
    amqp_set_handshake_timeout(conn, &rpc_tv);
    amqp_set_rpc_timeout(conn, &rpc_tv);
    amqp_rpc_reply_t login =
        amqp_login(conn, url.vhost.c_str(), 0, 131072, kHeartbeatSeconds, AMQP_SASL_METHOD_PLAIN,
                   url.user.c_str(), url.password.c_str());
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
      return Error{Errc::unavailable, "login to vhost " + quote_for_message(url.vhost) + " as " +
                                          quote_for_message(url.user) +
                                          " failed: " + describe(login)};
    }
    ++gen;
    next_publish_tag = 1;
    next_channel = kFirstConsumerChannel;
    free_channels.clear();
    retired_channels.clear();
    for (amqp_channel_t ch : {kPublishChannel, kControlChannel}) {
      amqp_channel_open(conn, ch);
      if (auto status = check("channel.open"); !status) return status;
    }
    amqp_confirm_select(conn, kPublishChannel);
    if (auto status = check("confirm.select"); !status) return status;
    if (hooks.on_connect) {
      auto status = hooks.on_connect(*this);
      if (!status) return status;
      if (broken) return lost(broken_reason);
    }
    return Ok{};
  }

  void disconnect() {
    for (auto& [tag, p] : pending) {
      p.done(lost("the publish was not confirmed; it may or may not have happened (" +
                  (broken_reason.empty() ? std::string("closing") : broken_reason) + ")"));
    }
    pending.clear();
    consumers.clear();
    partial.clear();
    browsing = false;
    if (conn != nullptr) {
      if (!broken && amqp_get_socket(conn) != nullptr) {
        amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
      }
      amqp_destroy_connection(conn);
      conn = nullptr;
    }
    broken = false;
  }

  void fail(std::string why) {
    if (!broken) {
      broken = true;
      broken_reason = std::move(why);
    }
  }

  static std::string describe(const amqp_rpc_reply_t& reply) {
    switch (reply.reply_type) {
      case AMQP_RESPONSE_NORMAL:
        return "ok";
      case AMQP_RESPONSE_NONE:
        return "no reply";
      case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return amqp_error_string2(reply.library_error);
      case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
          auto* m = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
          return std::to_string(m->reply_code) + " " + to_string(m->reply_text);
        }
        if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
          auto* m = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
          return std::to_string(m->reply_code) + " " + to_string(m->reply_text);
        }
        return "unexpected method " + std::to_string(reply.reply.id);
    }
    return "unknown reply";
  }

  // The outcome of the last RPC. A channel error (404, 406 …) closes only that channel:
  // it is acknowledged and reopened, and the error returned; anything else breaks the link.
  Status check(const char* what, amqp_channel_t channel = kControlChannel) {
    const amqp_rpc_reply_t reply = amqp_get_rpc_reply(conn);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) return Ok{};
    const std::string text = std::string(what) + ": " + describe(reply);
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      const auto code = static_cast<amqp_channel_close_t*>(reply.reply.decoded)->reply_code;
      amqp_channel_close_ok_t close_ok{};
      amqp_send_method(conn, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
      if (channel == kControlChannel) {
        browsing = false;
        amqp_channel_open(conn, channel);
        if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL) fail(text);
      } else if (channel == kPublishChannel) {
        fail(text);
      }  // a consumer's channel: the caller retires it
      const Errc errc = code == AMQP_NOT_FOUND             ? Errc::not_found
                        : code == AMQP_PRECONDITION_FAILED ? Errc::conflict
                        : code == AMQP_ACCESS_REFUSED      ? Errc::permission_denied
                                                           : Errc::protocol;
      return Error{errc, "RabbitMQ refused " + text};
    }
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      amqp_connection_close_ok_t close_ok{};
      amqp_send_method(conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
    }
    fail(text);
    return lost(text);
  }

  Status check_status(int rc, const char* what) {
    if (rc == AMQP_STATUS_OK) return Ok{};
    const std::string text = std::string(what) + ": " + amqp_error_string2(rc);
    fail(text);
    return lost(text);
  }

  // --- Session --------------------------------------------------------------------------

  std::uint64_t generation() const override { return gen; }

  Status declare_exchange(const std::string& name) override {
    if (broken) return lost(broken_reason);
    amqp_exchange_declare(conn, kControlChannel, bytes_of(name), amqp_cstring_bytes("topic"), 0, 1,
                          0, 0, amqp_empty_table);
    auto status = check("exchange.declare");
    amqp_maybe_release_buffers_on_channel(conn, kControlChannel);
    return status;
  }

  Result<std::uint32_t> declare_queue(const std::string& name, const QueueArgs& args,
                                      bool passive) override {
    if (broken) return lost(broken_reason);
    amqp_table_entry_t entries[3];
    int n = 0;
    if (args.message_ttl_ms >= 0) {
      entries[n].key = amqp_cstring_bytes("x-message-ttl");
      entries[n].value.kind = AMQP_FIELD_KIND_I64;
      entries[n].value.value.i64 = args.message_ttl_ms;
      ++n;
    }
    if (!args.route_to.empty()) {
      entries[n].key = amqp_cstring_bytes("x-dead-letter-exchange");
      entries[n].value.kind = AMQP_FIELD_KIND_UTF8;
      entries[n].value.value.bytes = amqp_cstring_bytes("");
      ++n;
      entries[n].key = amqp_cstring_bytes("x-dead-letter-routing-key");
      entries[n].value.kind = AMQP_FIELD_KIND_UTF8;
      entries[n].value.value.bytes = bytes_of(args.route_to);
      ++n;
    }
    amqp_table_t table{n, entries};
    auto* ok = amqp_queue_declare(conn, kControlChannel, bytes_of(name), passive ? 1 : 0, 1, 0, 0,
                                  passive ? amqp_empty_table : table);
    auto status = check(passive ? "queue.declare (passive)" : "queue.declare");
    const std::uint32_t count = ok != nullptr && status ? ok->message_count : 0;
    amqp_maybe_release_buffers_on_channel(conn, kControlChannel);
    if (!status) return status.error();
    return count;
  }

  Status bind(const std::string& queue, const std::string& exchange,
              const std::string& routing_key) override {
    if (broken) return lost(broken_reason);
    amqp_queue_bind(conn, kControlChannel, bytes_of(queue), bytes_of(exchange),
                    bytes_of(routing_key), amqp_empty_table);
    auto status = check("queue.bind");
    amqp_maybe_release_buffers_on_channel(conn, kControlChannel);
    return status;
  }

  void publish(const std::string& exchange, const std::string& routing_key,
               const AmqpMessage& message, Complete done) override {
    if (broken) return done(lost(broken_reason));
    std::vector<amqp_table_entry_t> entries;
    entries.reserve(message.headers.size());
    for (const auto& [key, value] : message.headers) {
      amqp_table_entry_t e{};
      e.key = bytes_of(key);
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = bytes_of(value);
      entries.push_back(e);
    }
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
    props.delivery_mode = 2;  // persistent
    props.headers.num_entries = static_cast<int>(entries.size());
    props.headers.entries = entries.data();
    if (!message.content_type.empty()) {
      props._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
      props.content_type = bytes_of(message.content_type);
    }
    if (!message.message_id.empty()) {
      props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
      props.message_id = bytes_of(message.message_id);
    }
    if (!message.type.empty()) {
      props._flags |= AMQP_BASIC_TYPE_FLAG;
      props.type = bytes_of(message.type);
    }
    const int rc = amqp_basic_publish(conn, kPublishChannel, bytes_of(exchange),
                                      bytes_of(routing_key), 0, 0, &props, bytes_of(message.body));
    if (auto status = check_status(rc, "basic.publish"); !status) return done(status);
    pending.emplace(next_publish_tag++, Pending{std::move(done), Clock::now() + confirm_timeout});
  }

  Result<std::uint16_t> consume(const std::string& queue, std::uint16_t prefetch,
                                std::function<void(Inbound)> sink) override {
    if (broken) return lost(broken_reason);
    amqp_channel_t channel = 0;
    if (!free_channels.empty()) {
      channel = *free_channels.begin();
      free_channels.erase(free_channels.begin());
    } else {
      const int max = amqp_get_channel_max(conn);
      if (max != 0 && next_channel > max) {
        return Error{Errc::unavailable, "no free AMQP channel for another consumer"};
      }
      channel = next_channel++;
    }
    amqp_channel_open(conn, channel);
    if (auto status = check("channel.open", channel); !status) return status.error();
    amqp_basic_qos(conn, channel, 0, prefetch, 0);
    if (auto status = check("basic.qos", channel); !status) return status.error();
    amqp_basic_consume(conn, channel, bytes_of(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    // A missing queue closes the channel (404): check() has answered the close; the
    // number goes back to the free list once no queued frame can name it.
    auto status = check("basic.consume", channel);
    if (!status) {
      if (!broken) retired_channels.insert(channel);
      return status.error();
    }
    consumers[channel] = std::move(sink);
    return static_cast<std::uint16_t>(channel);
  }

  void cancel(std::uint16_t channel) override {
    if (broken || consumers.erase(channel) == 0) return;
    partial.erase(channel);
    amqp_channel_close(conn, channel, AMQP_REPLY_SUCCESS);
    if (amqp_get_rpc_reply(conn).reply_type != AMQP_RESPONSE_NORMAL) {
      fail("channel.close: " + describe(amqp_get_rpc_reply(conn)));
      return;
    }
    retired_channels.insert(channel);
  }

  Status settle(const Inbound& d, bool ack) {
    if (broken) return lost(broken_reason);
    if (d.generation != gen || (d.channel != kControlChannel && !consumers.contains(d.channel))) {
      return Error{Errc::unavailable,
                   "the channel the delivery came on is closed: RabbitMQ delivers it again"};
    }
    const int rc = ack ? amqp_basic_ack(conn, d.channel, d.delivery_tag, 0)
                       : amqp_basic_nack(conn, d.channel, d.delivery_tag, 0, 1);
    return check_status(rc, ack ? "basic.ack" : "basic.nack");
  }

  Status ack(const Inbound& d) override { return settle(d, true); }
  Status requeue(const Inbound& d) override { return settle(d, false); }

  Result<std::vector<Inbound>> browse(const std::string& queue, std::size_t limit) override {
    if (broken) return lost(broken_reason);
    std::vector<Inbound> out;
    browsing = true;
    while (out.size() < limit) {
      amqp_rpc_reply_t reply = amqp_basic_get(conn, kControlChannel, bytes_of(queue), 0);
      if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        auto status = check("basic.get");
        return status.error();
      }
      if (reply.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) break;
      auto* get = static_cast<amqp_basic_get_ok_t*>(reply.reply.decoded);
      Inbound in;
      in.delivery_tag = get->delivery_tag;
      in.redelivered = get->redelivered != 0;
      in.routing_key = to_string(get->routing_key);
      in.channel = kControlChannel;
      in.generation = gen;
      amqp_message_t message{};
      amqp_rpc_reply_t read = amqp_read_message(conn, kControlChannel, &message, 0);
      if (read.reply_type != AMQP_RESPONSE_NORMAL) {
        fail("basic.get: " + describe(read));
        return lost(broken_reason);
      }
      in.message = from_amqp(message.properties, message.body);
      amqp_destroy_message(&message);
      out.push_back(std::move(in));
    }
    return out;
  }

  Status end_browse(const std::vector<std::uint64_t>& remove) override {
    if (broken) return lost(broken_reason);
    if (!browsing) return Ok{};
    browsing = false;
    for (auto tag : remove) {
      if (auto status = check_status(amqp_basic_ack(conn, kControlChannel, tag, 0), "basic.ack");
          !status) {
        return status;
      }
    }
    // Tag 0 with `multiple`: every delivery still held on the channel, back in order.
    auto status =
        check_status(amqp_basic_nack(conn, kControlChannel, 0, 1, 1), "basic.nack (requeue)");
    amqp_maybe_release_buffers_on_channel(conn, kControlChannel);
    return status;
  }

  // --- incoming frames -------------------------------------------------------------------

  static AmqpMessage from_amqp(const amqp_basic_properties_t& props, amqp_bytes_t body) {
    AmqpMessage m;
    m.body = to_string(body);
    if (props._flags & AMQP_BASIC_MESSAGE_ID_FLAG) m.message_id = to_string(props.message_id);
    if (props._flags & AMQP_BASIC_TYPE_FLAG) m.type = to_string(props.type);
    if (props._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) m.content_type = to_string(props.content_type);
    if (props._flags & AMQP_BASIC_HEADERS_FLAG) {
      for (int i = 0; i < props.headers.num_entries; ++i) {
        const auto& e = props.headers.entries[i];
        if (e.value.kind == AMQP_FIELD_KIND_UTF8 || e.value.kind == AMQP_FIELD_KIND_BYTES) {
          m.headers[to_string(e.key)] = to_string(e.value.value.bytes);
        }
      }
    }
    return m;
  }

  // Reads and handles frames until none is buffered and the socket has nothing for `wait`.
  void pump(std::chrono::milliseconds wait) {
    if (amqp_frames_enqueued(conn) == 0 && !amqp_data_in_buffer(conn)) {
      for (auto ch : retired_channels) free_channels.insert(ch);
      retired_channels.clear();
      pollfd fds[2] = {{amqp_get_sockfd(conn), POLLIN, 0}, {wake_fd, POLLIN, 0}};
      auto until = wait;
      if (!pending.empty()) {
        const auto next = std::chrono::duration_cast<std::chrono::milliseconds>(
            pending.begin()->second.deadline - Clock::now());
        until = std::clamp(next, std::chrono::milliseconds(0), wait);
      }
      if (::poll(fds, 2, static_cast<int>(until.count())) <= 0 || !(fds[0].revents)) {
        // Nothing to read; let rabbitmq-c send a heartbeat if one is due.
        amqp_frame_t frame;
        timeval zero{};
        const int rc = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
        if (rc == AMQP_STATUS_OK) {
          handle(frame);
        } else if (rc != AMQP_STATUS_TIMEOUT) {
          fail(amqp_error_string2(rc));
        }
        return;
      }
    }
    for (int i = 0; i < 1000 && !broken; ++i) {
      amqp_frame_t frame;
      timeval zero{};
      const int rc = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
      if (rc == AMQP_STATUS_TIMEOUT) break;
      if (rc != AMQP_STATUS_OK) {
        fail(amqp_error_string2(rc));
        break;
      }
      handle(frame);
    }
  }

  void handle(const amqp_frame_t& frame) {
    const amqp_channel_t channel = frame.channel;
    if (frame.frame_type == AMQP_FRAME_METHOD) {
      handle_method(channel, frame.payload.method);
    } else if (frame.frame_type == AMQP_FRAME_HEADER) {
      auto it = partial.find(channel);
      if (it != partial.end() && !it->second.have_header) {
        it->second.have_header = true;
        it->second.body_size = static_cast<std::size_t>(frame.payload.properties.body_size);
        if (it->second.body_size > kMaxBody) {
          fail("a message of " + std::to_string(it->second.body_size) + " bytes");
        } else {
          auto* props = static_cast<amqp_basic_properties_t*>(frame.payload.properties.decoded);
          it->second.inbound.message = from_amqp(*props, amqp_empty_bytes);
          it->second.inbound.message.body.reserve(it->second.body_size);
          deliver_if_complete(channel);
        }
      }
    } else if (frame.frame_type == AMQP_FRAME_BODY) {
      auto it = partial.find(channel);
      if (it != partial.end() && it->second.have_header) {
        it->second.inbound.message.body.append(to_string(frame.payload.body_fragment));
        deliver_if_complete(channel);
      }
    }
    amqp_maybe_release_buffers_on_channel(conn, channel);
  }

  void deliver_if_complete(amqp_channel_t channel) {
    auto it = partial.find(channel);
    if (it->second.inbound.message.body.size() < it->second.body_size) return;
    Inbound in = std::move(it->second.inbound);
    partial.erase(it);
    auto consumer = consumers.find(channel);
    if (consumer != consumers.end()) consumer->second(std::move(in));
  }

  void handle_method(amqp_channel_t channel, const amqp_method_t& method) {
    switch (method.id) {
      case AMQP_BASIC_DELIVER_METHOD: {
        auto* d = static_cast<amqp_basic_deliver_t*>(method.decoded);
        Partial p;
        p.inbound.delivery_tag = d->delivery_tag;
        p.inbound.redelivered = d->redelivered != 0;
        p.inbound.routing_key = to_string(d->routing_key);
        p.inbound.channel = channel;
        p.inbound.generation = gen;
        partial[channel] = std::move(p);
        break;
      }
      case AMQP_BASIC_ACK_METHOD:
        if (channel == kPublishChannel) {
          auto* a = static_cast<amqp_basic_ack_t*>(method.decoded);
          confirm(a->delivery_tag, a->multiple != 0, Ok{});
        }
        break;
      case AMQP_BASIC_NACK_METHOD:
        if (channel == kPublishChannel) {
          auto* n = static_cast<amqp_basic_nack_t*>(method.decoded);
          confirm(n->delivery_tag, n->multiple != 0,
                  Error{Errc::io, "RabbitMQ could not store the message (basic.nack)"});
        }
        break;
      case AMQP_CHANNEL_CLOSE_METHOD: {
        auto* c = static_cast<amqp_channel_close_t*>(method.decoded);
        amqp_channel_close_ok_t close_ok{};
        amqp_send_method(conn, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
        fail("RabbitMQ closed channel " + std::to_string(channel) + ": " +
             std::to_string(c->reply_code) + " " + to_string(c->reply_text));
        break;
      }
      case AMQP_CONNECTION_CLOSE_METHOD: {
        auto* c = static_cast<amqp_connection_close_t*>(method.decoded);
        amqp_connection_close_ok_t close_ok{};
        amqp_send_method(conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
        fail("RabbitMQ closed the connection: " + std::to_string(c->reply_code) + " " +
             to_string(c->reply_text));
        break;
      }
      case AMQP_BASIC_CANCEL_METHOD:
        // The queue went away under a consumer: start over, re-declaring it.
        fail("RabbitMQ cancelled the consumer on channel " + std::to_string(channel));
        break;
      default:
        break;  // basic.consume-ok echoes, connection.blocked, …
    }
  }

  void confirm(std::uint64_t tag, bool multiple, const Status& status) {
    auto end = pending.upper_bound(tag);
    auto begin = multiple ? pending.begin() : pending.find(tag);
    if (begin == pending.end()) return;
    std::vector<Complete> done;
    for (auto it = begin; it != end; ++it) done.push_back(std::move(it->second.done));
    pending.erase(begin, end);
    for (auto& d : done) d(status);
  }

  void expire_confirms() {
    const auto now = Clock::now();
    while (!pending.empty() && pending.begin()->second.deadline <= now) {
      auto done = std::move(pending.begin()->second.done);
      pending.erase(pending.begin());
      done(Error{Errc::unavailable,
                 "RabbitMQ did not confirm the publish within " +
                     std::to_string(confirm_timeout.count()) +
                     " s (is it blocked by a resource alarm?); it may or may not have happened"});
    }
  }
};

AmqpLink::AmqpLink(AmqpUrl url, Hooks hooks)
    : impl_(std::make_unique<Impl>(std::move(url), std::move(hooks))) {}

AmqpLink::~AmqpLink() {
  stop();
}

void AmqpLink::run(Job job, std::function<void(Error)> refused) {
  impl_->run(std::move(job), std::move(refused));
}

bool AmqpLink::connected() const {
  return impl_->up;
}

std::string AmqpLink::last_error() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->up ? std::string() : impl_->down_reason;
}

void AmqpLink::stop() {
  impl_->stop();
}

void AmqpLink::wait_first_attempt(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  impl_->attempted_cv.wait_for(lock, timeout, [this] { return impl_->attempted; });
}

}  // namespace stoa::messaging::rabbitmq
