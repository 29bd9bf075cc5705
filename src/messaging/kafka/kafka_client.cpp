#include "messaging/kafka/kafka_client.h"

#include <charconv>
#include <map>
#include <thread>

#include "observability/log.h"
#include "runtime/uuid.h"

namespace stoa::messaging::kafka {

namespace {

// librdkafka's own log lines (connection refused, …) go to Stoa's log; debug lines are
// dropped (librdkafka levels are syslog's: 0 emergency … 7 debug).
void log_line(const rd_kafka_t*, int level, const char* facility, const char* text) {
  if (level > 6) return;
  const auto stoa_level = level <= 3   ? obs::Level::error
                          : level == 4 ? obs::Level::warn
                                       : obs::Level::info;
  obs::log(stoa_level, "kafka", text, {{"facility", facility}});
}

bool secret_like(std::string_view key) {
  return key.find("password") != std::string_view::npos ||
         key.find("secret") != std::string_view::npos || key.find(".key") != std::string_view::npos;
}

Status set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) ==
      RD_KAFKA_CONF_OK) {
    return Ok{};
  }
  // librdkafka's message may quote the value: not for a secret.
  return Error{Errc::invalid_argument,
               "broker.url option " + quote_for_message(key) + " is refused by librdkafka" +
                   (secret_like(key) ? std::string() : ": " + std::string(errstr))};
}

}  // namespace

Error kafka_error(rd_kafka_resp_err_t err, const std::string& what) {
  Errc code = Errc::unavailable;
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      code = Errc::timeout;
      break;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      code = Errc::too_large;
      break;
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      code = Errc::not_found;
      break;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
      code = Errc::permission_denied;
      break;
    case RD_KAFKA_RESP_ERR__DESTROY:
      code = Errc::cancelled;
      break;
    default:
      break;
  }
  return Error{code, what + ": " + rd_kafka_err2str(err)};
}

Result<Handle> make_handle(rd_kafka_type_t type, const KafkaSettings& settings,
                           const std::vector<std::pair<std::string, std::string>>& fixed,
                           const std::function<void(rd_kafka_conf_t*)>& setup) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto status = set(conf, "bootstrap.servers", settings.bootstrap);
  // The URL's properties first, so that what the adapter relies on wins.
  for (const auto& [key, value] : settings.properties) {
    if (status) status = set(conf, key, value);
  }
  for (const auto& [key, value] : fixed) {
    if (status) status = set(conf, key, value);
  }
  if (!status) {
    rd_kafka_conf_destroy(conf);
    return status.error();
  }
  rd_kafka_conf_set_log_cb(conf, log_line);
  if (setup) setup(conf);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof errstr);  // owns conf on success
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Error{Errc::invalid_argument, std::string("cannot start the Kafka client: ") + errstr};
  }
  return Handle(rk);
}

Result<std::vector<std::int32_t>> partitions_of(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rkt == nullptr) return Error{Errc::invalid_argument, "bad topic " + quote_for_message(topic)};
  const rd_kafka_metadata_t* md = nullptr;
  const auto err = rd_kafka_metadata(rk, 0, rkt, &md, static_cast<int>(kAdminTimeout.count()));
  rd_kafka_topic_destroy(rkt);
  if (err) return kafka_error(err, "metadata of topic " + topic);
  std::vector<std::int32_t> out;
  Result<std::vector<std::int32_t>> result = out;
  if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
    const auto terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    result = kafka_error(terr ? terr : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, "topic " + topic);
  } else {
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
      out.push_back(md->topics[0].partitions[i].id);
    }
    result = out;
  }
  rd_kafka_metadata_destroy(md);
  return result;
}

Status ensure_topics(rd_kafka_t* rk, const KafkaSettings& settings,
                     const std::vector<TopicSpec>& wanted) {
  // Only what is missing is created. (On a cluster that auto-creates topics, this metadata
  // request creates them with the cluster's defaults: docs/messaging.md says what to create
  // by hand there. librdkafka's mock cluster has no CreateTopics and is served this way.)
  std::vector<TopicSpec> topics;
  for (const auto& t : wanted) {
    if (!partitions_of(rk, t.name)) topics.push_back(t);
  }
  if (topics.empty()) return Ok{};
  char errstr[512];
  std::vector<rd_kafka_NewTopic_t*> news;
  for (const auto& t : topics) {
    auto* nt = rd_kafka_NewTopic_new(t.name.c_str(), t.compacted ? 1 : settings.partitions,
                                     settings.replication_factor, errstr, sizeof errstr);
    if (nt == nullptr) {
      for (auto* n : news) rd_kafka_NewTopic_destroy(n);
      return Error{Errc::invalid_argument, "topic " + quote_for_message(t.name) + ": " + errstr};
    }
    if (t.compacted) rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    if (t.keep_forever) rd_kafka_NewTopic_set_config(nt, "retention.ms", "-1");
    news.push_back(nt);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, static_cast<int>(kAdminTimeout.count()),
                                            errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk, news.data(), news.size(), options, queue);
  rd_kafka_event_t* event =
      rd_kafka_queue_poll(queue, static_cast<int>(kAdminTimeout.count()) + 1000);
  Status status = Ok{};
  bool auto_create = false;
  if (event == nullptr) {
    status = Error{Errc::timeout, "creating Kafka topics timed out"};
  } else if (rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
             rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION) {
    auto_create = true;  // no CreateTopics: librdkafka's mock cluster
  } else if (rd_kafka_event_error(event)) {
    status = kafka_error(rd_kafka_event_error(event), "creating Kafka topics");
  } else {
    const auto* result = rd_kafka_event_CreateTopics_result(event);
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
    for (size_t i = 0; i < n && status; ++i) {
      const auto err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        continue;
      }
      status =
          kafka_error(err, std::string("creating topic ") + rd_kafka_topic_result_name(results[i]));
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  for (auto* n : news) rd_kafka_NewTopic_destroy(n);
  if (!status) return status;
  // Wait until each topic is in the metadata: a new topic takes a moment to appear, and on a
  // cluster without CreateTopics this metadata request is what creates it.
  const auto deadline = std::chrono::steady_clock::now() + kAdminTimeout;
  for (const auto& t : topics) {
    for (;;) {
      auto found = partitions_of(rk, t.name);
      if (found) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        return Error{
            found.error().code == Errc::not_found ? Errc::unavailable : found.error().code,
            (auto_create ? "the cluster did not auto-create " : "topic ") + found.error().message};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return Ok{};
}

Status read_topic(const KafkaSettings& settings, const std::string& topic,
                  const std::function<void(const rd_kafka_message_t&)>& visit) {
  // A group id is needed to poll; this reader never joins or commits with it.
  auto handle = make_handle(RD_KAFKA_CONSUMER, settings,
                            {{"group.id", "stoa-reader-" + Uuid::v7().to_string()},
                             {"enable.auto.commit", "false"},
                             {"enable.partition.eof", "false"}});
  if (!handle) return handle.error();
  rd_kafka_t* rk = handle->get();
  auto partitions = partitions_of(rk, topic);
  if (!partitions) return partitions.error();
  std::map<std::int32_t, std::int64_t> end;  // partition -> its high watermark now
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  for (auto p : *partitions) {
    int64_t low = 0, high = 0;
    const auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high,
                                                      static_cast<int>(kAdminTimeout.count()));
    if (err) {
      rd_kafka_topic_partition_list_destroy(list);
      return kafka_error(err, "watermarks of " + topic);
    }
    if (high <= low) continue;
    end[p] = high;
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = low;
  }
  Status status = Ok{};
  if (!end.empty()) {
    rd_kafka_assign(rk, list);
    const auto deadline = std::chrono::steady_clock::now() + kAdminTimeout;
    while (!end.empty() && status) {
      if (std::chrono::steady_clock::now() >= deadline) {
        status = Error{Errc::timeout, "reading topic " + topic + " timed out"};
        break;
      }
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (m == nullptr) continue;
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          status = kafka_error(m->err, "reading topic " + topic);
        }
      } else {
        visit(*m);
        auto it = end.find(m->partition);
        if (it != end.end() && m->offset + 1 >= it->second) end.erase(it);
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(rk, nullptr);
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_consumer_close(rk);
  return status;
}

std::string header_text(const rd_kafka_message_t& message, const char* name) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&message, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return {};
  }
  return std::string(static_cast<const char*>(value), size);
}

std::optional<std::int64_t> header_number(const rd_kafka_message_t& message, const char* name) {
  const auto text = header_text(message, name);
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return n;
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace stoa::messaging::kafka
