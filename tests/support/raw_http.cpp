#include "support/raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace stoa::test {

namespace {
using Clock = std::chrono::steady_clock;

// Waits for the fd to be readable; returns bytes read, 0 on close, -1 on timeout/error.
long read_some(int fd, std::string& out, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return -1;
  pollfd p{fd, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(left.count()));
  if (r <= 0) return -1;
  char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n < 0) return errno == ECONNRESET ? 0 : -1;
  out.append(buf, static_cast<std::size_t>(n));
  return n;
}

std::size_t content_length(const std::string& head) {
  std::string value = header_of(head, "Content-Length");
  return value.empty() ? 0 : std::stoul(value);
}
}  // namespace

RawConnection::RawConnection(std::uint16_t port, const std::string& host) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::string RawConnection::read_response(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string& data = pending_;
  for (;;) {
    auto end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t total = end + 4 + content_length(data.substr(0, end + 4));
      if (data.size() >= total) {
        std::string response = data.substr(0, total);
        data.erase(0, total);
        return response;
      }
    }
    if (read_some(fd_, data, deadline) <= 0) {
      std::string rest = std::move(data);
      data.clear();
      return rest;
    }
  }
}

std::optional<std::string> RawConnection::read_until_closed(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::string data = std::move(pending_);
  pending_.clear();
  for (;;) {
    long n = read_some(fd_, data, deadline);
    if (n == 0) return data;
    if (n < 0) return std::nullopt;
  }
}

std::string RawConnection::read_head(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto end = pending_.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::string head = pending_.substr(0, end + 4);
      pending_.erase(0, end + 4);
      return head;
    }
    if (read_some(fd_, pending_, deadline) <= 0) return "";
  }
}

bool RawConnection::read_stream(std::uint64_t length,
                                const std::function<void(std::string_view)>& sink,
                                std::chrono::milliseconds idle_timeout) {
  std::string data = std::move(pending_);
  pending_.clear();
  for (;;) {
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), length));
    sink(std::string_view(data.data(), take));
    length -= take;
    if (length == 0) {
      pending_ = data.substr(take);
      return true;
    }
    data.clear();
    if (read_some(fd_, data, Clock::now() + idle_timeout) <= 0) return false;
  }
}

void RawConnection::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

std::string header_of(const std::string& response, const std::string& name) {
  auto head_end = response.find("\r\n\r\n");
  std::string head = response.substr(0, head_end);
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    std::size_t next = head.find("\r\n", pos + 2);
    std::string line =
        head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos && colon == name.size() &&
        strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      return value;
    }
    pos = next;
  }
  return "";
}

std::string body_of(const std::string& response) {
  auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

std::string http_get(std::uint16_t port, const std::string& target,
                     const std::string& extra_headers) {
  RawConnection connection(port);
  if (!connection.connected()) return "";
  connection.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                  extra_headers + "\r\n");
  return connection.read_response();
}

}  // namespace stoa::test
