#pragma once
// A deliberately plain TCP client for tests that must send what a well-behaved HTTP client
// never would: malformed request lines, huge headers, one byte a second.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace stoa::test {

class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port, const std::string& host = "127.0.0.1");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // False when the peer has closed or reset the connection.
  bool send(const std::string& bytes);
  // Reads one HTTP response (head + Content-Length body) or whatever arrived until close or
  // timeout.
  std::string read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads until the peer closes; nullopt when it did not close within `timeout`.
  std::optional<std::string> read_until_closed(std::chrono::milliseconds timeout);
  // For bodies too large to hold: reads a response head (through the blank line), leaving
  // what follows for read_stream; "" when none came within the timeout.
  std::string read_head(std::chrono::milliseconds timeout);
  // Hands the next `length` bytes to `sink` as they arrive, keeping none. False when the
  // connection ended first or nothing came for `idle_timeout`.
  bool read_stream(std::uint64_t length, const std::function<void(std::string_view)>& sink,
                   std::chrono::milliseconds idle_timeout);
  void shutdown_write();

 private:
  int fd_ = -1;
  std::string pending_;
};

// Status code of an HTTP response text, 0 if none.
int status_of(const std::string& response);
// Value of a header in a response text (case-insensitive), "" if absent.
std::string header_of(const std::string& response, const std::string& name);
// Body of a response text (after the blank line).
std::string body_of(const std::string& response);

// One HTTP/1.1 request on a fresh connection (Connection: close); the whole response text.
std::string http_get(std::uint16_t port, const std::string& target,
                     const std::string& extra_headers = "");

}  // namespace stoa::test
