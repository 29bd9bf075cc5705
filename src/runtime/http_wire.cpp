#include "runtime/http_wire.h"

#include <charconv>

namespace stoa::http {

namespace {

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool safe_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

bool safe_value(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Framing is the server's business: these are computed, never copied from a handler.
bool is_framing(std::string_view name) {
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
         iequals(name, "Connection") || iequals(name, "Date") || iequals(name, "X-Request-Id");
}

void append_number(std::string& out, std::size_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

}  // namespace

std::size_t append_response_head(std::string& out, const ResponseHead& head) {
  std::size_t dropped = 0;
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<std::size_t>(head.status));
  out.push_back(' ');
  out.append(reason_phrase(head.status));
  out.append("\r\n");
  if (head.headers != nullptr) {
    for (const auto& [name, value] : *head.headers) {
      if (is_framing(name)) continue;
      if (!safe_name(name) || !safe_value(value)) {
        ++dropped;
        continue;
      }
      out.append(name).append(": ").append(value).append("\r\n");
    }
  }
  if (!head.date.empty()) out.append("Date: ").append(head.date).append("\r\n");
  if (!head.request_id.empty()) {
    out.append("X-Request-Id: ").append(head.request_id).append("\r\n");
  }
  if (!head.keep_alive) {
    out.append("Connection: close\r\n");
  } else if (head.request_version == 10) {
    out.append("Connection: keep-alive\r\n");
  }
  if (head.content_length) {
    out.append("Content-Length: ");
    append_number(out, *head.content_length);
    out.append("\r\n");
  }
  out.append("\r\n");
  return dropped;
}

}  // namespace stoa::http
