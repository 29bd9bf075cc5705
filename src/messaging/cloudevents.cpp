#include "messaging/cloudevents.h"

#include <array>
#include <cctype>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "runtime/base64.h"
#include "runtime/json.h"
#include "runtime/time_format.h"
#include "runtime/trace_context.h"

namespace stoa::messaging::cloudevents {

namespace {

namespace bj = boost::json;

// Context attributes of the spec and the distributed-tracing extension; everything else in
// the envelope is an extension.
constexpr std::array<std::string_view, 11> kKnown = {
    "id",      "source",      "type",       "specversion", "time",       "datacontenttype",
    "subject", "traceparent", "tracestate", "data",        "data_base64"};

bool known(std::string_view name) {
  for (auto k : kKnown) {
    if (k == name) return true;
  }
  return false;
}

Error invalid(std::string message) {
  return Error{Errc::invalid_argument, "invalid CloudEvent: " + std::move(message)};
}

// CloudEvents strings exclude control characters; JSON additionally needs valid UTF-8.
bool valid_text(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return false;
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if (cp >= 0x80 && cp <= 0x9f) return false;  // C1 controls
    i += extra + 1;
  }
  return true;
}

Status check_attribute(std::string_view name, std::string_view value, bool required,
                       const Limits& limits) {
  if (value.empty()) {
    if (required) return invalid("the required attribute " + std::string(name) + " is missing");
    return Ok{};
  }
  if (value.size() > limits.max_attribute_bytes) {
    return Error{Errc::too_large, "invalid CloudEvent: attribute " + std::string(name) +
                                      " is longer than " +
                                      std::to_string(limits.max_attribute_bytes) + " bytes"};
  }
  if (!valid_text(value)) {
    return invalid("attribute " + std::string(name) +
                   " holds control characters or invalid UTF-8: " + quote_for_message(value));
  }
  return Ok{};
}

bool valid_extension_name(std::string_view name) {
  if (name.empty() || name.size() > 20) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// Everything but data: the attributes' rules, shared by encode and decode.
Status check_attributes(const Event& event, const Limits& limits) {
  const std::pair<std::string_view, const std::string*> attributes[] = {
      {"id", &event.id},
      {"source", &event.source},
      {"type", &event.type},
      {"specversion", &event.specversion},
      {"time", &event.time},
      {"datacontenttype", &event.datacontenttype},
      {"subject", &event.subject},
      {"traceparent", &event.traceparent},
      {"tracestate", &event.tracestate}};
  for (const auto& [name, value] : attributes) {
    const bool required =
        name == "id" || name == "source" || name == "type" || name == "specversion";
    auto status = check_attribute(name, *value, required, limits);
    if (!status) return status;
  }
  if (event.specversion != "1.0") {
    return invalid("specversion " + quote_for_message(event.specversion) + " is not \"1.0\"");
  }
  if (!event.time.empty() && !is_rfc3339(event.time)) {
    return invalid("time " + quote_for_message(event.time) + " is not an RFC 3339 timestamp");
  }
  if (event.extensions.size() > limits.max_extensions) {
    return Error{Errc::too_large, "invalid CloudEvent: more than " +
                                      std::to_string(limits.max_extensions) +
                                      " extension attributes"};
  }
  for (const auto& [name, value] : event.extensions) {
    if (!valid_extension_name(name) || known(name)) {
      return invalid("extension attribute name " + quote_for_message(name) +
                     " is not 1-20 characters of a-z and 0-9, or is reserved");
    }
    auto status = check_attribute(name, value, false, limits);
    if (!status) return status;
  }
  return Ok{};
}

}  // namespace

bool is_json_content_type(std::string_view type) {
  const auto semicolon = type.find(';');
  if (semicolon != std::string_view::npos) type = type.substr(0, semicolon);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  std::string lower(type);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json" || lower == "text/json" ||
         (lower.size() > 5 && lower.ends_with("+json"));
}

bool is_rfc3339(std::string_view text) {
  return parse_rfc3339(text).has_value();
}

Result<std::string> encode(const Event& event, const Limits& limits) {
  auto status = check_attributes(event, limits);
  if (!status) return status.error();
  if (!event.traceparent.empty() && !parse_traceparent(event.traceparent)) {
    return invalid("traceparent " + quote_for_message(event.traceparent) + " is malformed");
  }
  bj::object envelope;
  envelope["specversion"] = event.specversion;
  envelope["id"] = event.id;
  envelope["source"] = event.source;
  envelope["type"] = event.type;
  if (!event.time.empty()) envelope["time"] = event.time;
  if (!event.subject.empty()) envelope["subject"] = event.subject;
  if (!event.datacontenttype.empty()) envelope["datacontenttype"] = event.datacontenttype;
  if (!event.traceparent.empty()) envelope["traceparent"] = event.traceparent;
  if (!event.tracestate.empty()) envelope["tracestate"] = event.tracestate;
  for (const auto& [name, value] : event.extensions) envelope[name] = value;
  if (event.has_data) {
    if (event.datacontenttype.empty() || is_json_content_type(event.datacontenttype)) {
      auto data = json::parse(event.data, {limits.max_bytes, limits.max_depth - 1});
      if (!data) {
        return Error{data.error().code,
                     "invalid CloudEvent: data is not the JSON its "
                     "datacontenttype says: " +
                         data.error().message};
      }
      envelope["data"] = std::move(data).value();
    } else {
      envelope["data_base64"] = base64::encode(event.data);
    }
  }
  std::string out = bj::serialize(envelope);
  if (out.size() > limits.max_bytes) {
    return Error{Errc::too_large, "the CloudEvents envelope is " + std::to_string(out.size()) +
                                      " bytes, over the limit of " +
                                      std::to_string(limits.max_bytes)};
  }
  return out;
}

Result<Event> decode(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error{Errc::too_large, "the CloudEvents envelope is " + std::to_string(text.size()) +
                                      " bytes, over the limit of " +
                                      std::to_string(limits.max_bytes)};
  }
  auto parsed = json::parse(text, {limits.max_bytes, limits.max_depth});
  if (!parsed) {
    return Error{parsed.error().code,
                 "invalid CloudEvent: the envelope is not JSON: " + parsed.error().message};
  }
  if (!parsed->is_object()) return invalid("the envelope is not a JSON object");
  const bj::object& object = parsed->as_object();
  Event event;
  event.specversion.clear();
  event.datacontenttype.clear();
  const bj::value* data = nullptr;
  const bj::value* data_base64 = nullptr;
  for (const auto& member : object) {
    const std::string_view name = member.key();
    if (name == "data") {
      data = &member.value();
      continue;
    }
    if (name == "data_base64") {
      data_base64 = &member.value();
      continue;
    }
    if (!member.value().is_string()) {
      return invalid("attribute " + quote_for_message(name) +
                     " is not a string (Stoa carries string attributes only)");
    }
    std::string value(member.value().as_string());
    if (name == "id") {
      event.id = std::move(value);
    } else if (name == "source") {
      event.source = std::move(value);
    } else if (name == "type") {
      event.type = std::move(value);
    } else if (name == "specversion") {
      event.specversion = std::move(value);
    } else if (name == "time") {
      event.time = std::move(value);
    } else if (name == "datacontenttype") {
      event.datacontenttype = std::move(value);
    } else if (name == "subject") {
      event.subject = std::move(value);
    } else if (name == "traceparent") {
      if (parse_traceparent(value)) event.traceparent = std::move(value);
    } else if (name == "tracestate") {
      if (auto kept = sanitize_tracestate(value)) event.tracestate = std::move(*kept);
    } else {
      if (event.extensions.size() >= limits.max_extensions) {
        return Error{Errc::too_large, "invalid CloudEvent: more than " +
                                          std::to_string(limits.max_extensions) +
                                          " extension attributes"};
      }
      event.extensions.emplace(std::string(name), std::move(value));
    }
  }
  if (event.specversion.empty()) return invalid("the required attribute specversion is missing");
  if (event.traceparent.empty()) event.tracestate.clear();  // meaningless without it
  auto status = check_attributes(event, limits);
  if (!status) return status.error();
  if (data != nullptr && data_base64 != nullptr) {
    return invalid("both data and data_base64 are present");
  }
  if (data_base64 != nullptr) {
    if (!data_base64->is_string()) return invalid("data_base64 is not a string");
    auto bytes = base64::decode(data_base64->as_string());
    if (!bytes) return invalid("data_base64 is not valid base64");
    event.data = std::move(*bytes);
    event.has_data = true;
  } else if (data != nullptr) {
    // A JSON (or absent) content type: the data is the JSON value itself. Otherwise a JSON
    // string holds the text of the data.
    if (!event.datacontenttype.empty() && !is_json_content_type(event.datacontenttype) &&
        data->is_string()) {
      event.data = std::string(data->as_string());
    } else {
      event.data = bj::serialize(*data);
    }
    event.has_data = true;
  }
  return event;
}

}  // namespace stoa::messaging::cloudevents
