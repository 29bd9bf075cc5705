#pragma once
// Plain HTTP request and response values, independent of the parser that produced them.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/trace_context.h"

namespace stoa::http {

// Header names compare case-insensitively; order and repeats are kept as received.
class Headers {
 public:
  void add(std::string name, std::string value);
  // Replaces every header of that name with one.
  void set(std::string_view name, std::string value);
  void remove(std::string_view name);
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }

  using Entry = std::pair<std::string, std::string>;
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

bool iequals(std::string_view a, std::string_view b);

struct Request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // the raw request-target
  std::string path;    // target before '?', still percent-encoded
  std::string query;   // target after '?', without it
  unsigned version = 11;
  Headers headers;
  std::string body;

  // Filled by the server and router.
  std::vector<std::pair<std::string, std::string>> params;  // path template parameters, decoded
  std::string route;       // the matched path template, "" when none matched
  std::string request_id;  // from X-Request-Id when well-formed, otherwise generated
  std::string remote_address;
  TraceContext trace;  // the span this request runs in (a child of an incoming traceparent)
  std::chrono::steady_clock::time_point received_at{};

  std::optional<std::string_view> param(std::string_view name) const;
  std::optional<std::string> query_param(std::string_view name) const;  // decoded
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  static Response text(int status, std::string body);
  static Response json(int status, std::string body);
};

// "%41" -> "A"; nullopt when an escape is malformed. '+' is kept as is unless form_encoding.
std::optional<std::string> percent_decode(std::string_view in, bool form_encoding = false);

std::string_view reason_phrase(int status);

}  // namespace stoa::http
