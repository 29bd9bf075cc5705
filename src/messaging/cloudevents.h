#pragma once
// The CloudEvents 1.0 structured-mode JSON envelope (JSON Event Format 1.0): what every
// broker carries as a message body, with content type application/cloudevents+json.
//
// Decoding is strict and bounded, because a message may come from any producer on the
// broker: the envelope's size and depth are capped, the required attributes must be present
// and be strings, specversion must be "1.0", `data` and `data_base64` exclude each other,
// and every attribute is length-bounded. An event that fails gets an Error whose message is
// the reason a dead letter records. One leniency: a malformed `traceparent` is dropped
// rather than failing the event (a tracing hint must not cost the event).
#include <cstddef>
#include <string>
#include <string_view>

#include "messaging/event.h"
#include "runtime/error.h"

namespace stoa::messaging::cloudevents {

inline constexpr std::string_view content_type = "application/cloudevents+json";

struct Limits {
  std::size_t max_bytes = 1024 * 1024;  // the whole envelope ([broker] max_message_bytes)
  std::size_t max_depth = 32;           // JSON nesting, data included
  std::size_t max_attribute_bytes = 1024;
  std::size_t max_extensions = 32;
};

// Errc::invalid_argument when the event is not a valid CloudEvent (a missing id, data that
// is not JSON under a JSON content type, …), Errc::too_large beyond the limits.
Result<std::string> encode(const Event& event, const Limits& limits = {});
// The same errors for an envelope that is malformed or breaks the rules above.
Result<Event> decode(std::string_view envelope, const Limits& limits = {});

// Whether `content_type` is JSON: application/json, text/json or a +json suffix (parameters
// such as "; charset=utf-8" ignored).
bool is_json_content_type(std::string_view content_type);
// Whether `text` is an RFC 3339 date-time ("2024-05-01T12:34:56.789Z", "…+02:00").
bool is_rfc3339(std::string_view text);

}  // namespace stoa::messaging::cloudevents
