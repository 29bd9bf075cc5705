#include "services/user/user_events.h"

#include <boost/json/array.hpp>
#include <chrono>

#include "observability/json_text.h"
#include "runtime/json.h"
#include "runtime/trace_context.h"
#include "runtime/uuid.h"

namespace stoa::user {

messaging::Message user_event(const char* type, const std::string& user_id,
                              boost::json::object data, const TraceContext* trace) {
  messaging::Message message;
  message.topic = kUserTopic;
  messaging::Event& event = message.event;
  event.id = Uuid::v7().to_string();
  event.source = "/stoa/user";
  event.type = type;
  event.time = obs::json_text::rfc3339_ms(std::chrono::system_clock::now());
  event.subject = user_id;
  if (trace != nullptr && trace->valid()) event.traceparent = trace->traceparent();
  data["user_id"] = user_id;
  event.data = json::serialize(data);
  event.has_data = true;
  return message;
}

messaging::Message updated_event(const std::string& user_id, std::int64_t version,
                                 const std::vector<std::string>& changed,
                                 const TraceContext* trace) {
  boost::json::array fields;
  for (const auto& field : changed) fields.emplace_back(field);
  return user_event(kUpdated, user_id, {{"version", version}, {"changed", std::move(fields)}},
                    trace);
}

}  // namespace stoa::user
