#include "runtime/http_session.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <exception>
#include <limits>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "runtime/http_wire.h"
#include "runtime/problem.h"
#include "runtime/trace_context.h"

namespace stoa::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// RFC 9110 Date, formatted once a second per thread.
const std::string& http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local std::string cached;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[40];
    std::size_t n = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached.assign(text, n);
    cached_second = now;
  }
  return cached;
}

// A client-supplied X-Request-Id is kept when it is short and plain; otherwise replaced.
bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

bool is_parse_error(const boost::system::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

template <class Stream>
class SessionImpl final : public Session {
 public:
  SessionImpl(std::shared_ptr<SessionShared> shared, Stream stream, std::string remote,
              std::size_t context_index)
      : shared_(std::move(shared)),
        stream_(std::move(stream)),
        remote_(std::move(remote)),
        context_index_(context_index) {
    shared_->open_connections.fetch_add(1, std::memory_order_relaxed);
    if (registered()) shared_->sessions[context_index_].insert(this);
    if (shared_->observer) shared_->observer->connection_opened();
  }

  ~SessionImpl() override {
    if (registered()) shared_->sessions[context_index_].erase(this);
    if (shared_->observer) shared_->observer->connection_closed();
    shared_->open_connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void close_if_idle() override {
    if (idle_) close_now();
  }

  void close_now() override {
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  asio::awaitable<void> run() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(shared_->limits.header_timeout);
      auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::server, use_tuple);
      if (ec) co_return;
    }
    for (;;) {
      bool keep_open = co_await serve_one();
      if (!keep_open) break;
    }
    co_await close_gracefully();
  }

 private:
  bool registered() const { return context_index_ < shared_->sessions.size(); }
  const ServerLimits& limits() const { return shared_->limits; }
  auto& lowest() { return beast::get_lowest_layer(stream_); }

  // Returns whether the connection stays open for another request.
  asio::awaitable<bool> serve_one() {
    if (buffer_.size() == 0) {
      // Between requests: wait for the first byte under the idle (keep-alive) timeout.
      idle_ = true;
      if (shared_->shutting_down.load(std::memory_order_relaxed)) co_return false;
      lowest().expires_after(limits().idle_timeout);
      auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), use_tuple);
      idle_ = false;
      if (ec) co_return false;
      buffer_.commit(n);
    }
    idle_ = false;

    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits().max_header_bytes));
    // The body limit depends on the route, known only after the head: until then, none
    // (Beast would otherwise reject a large Content-Length as a header error).
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());

    lowest().expires_after(limits().header_timeout);
    {
      auto [ec, n] = co_await bhttp::async_read_header(stream_, buffer_, parser, use_tuple);
      if (ec) {
        if (ec == bhttp::error::header_limit) {
          co_await reject(431, "The request line and headers exceed " +
                                   std::to_string(limits().max_header_bytes) + " bytes.");
        } else if (is_parse_error(ec)) {
          co_await reject(400, "Malformed request: " + ec.message() + ".");
        }
        co_return false;  // timeouts and resets just close
      }
    }

    Request request;
    request.received_at = std::chrono::steady_clock::now();
    const auto& head = parser.get();
    request.method = std::string(head.method_string());
    request.target = std::string(head.target());
    request.version = head.version();
    if (request.target.empty() || request.target.front() != '/') {
      co_await reject(400, "The request target must be a path starting with '/'.");
      co_return false;
    }
    auto question = request.target.find('?');
    request.path = request.target.substr(0, question);
    if (question != std::string::npos) request.query = request.target.substr(question + 1);
    for (const auto& field : head) {
      request.headers.add(std::string(field.name_string()), std::string(field.value()));
    }
    request.remote_address = remote_;
    auto incoming_id = request.headers.get("X-Request-Id");
    request.request_id = incoming_id && acceptable_request_id(*incoming_id)
                             ? std::string(*incoming_id)
                             : random_hex_id();

    Router::Match match = shared_->router->match(request.method, request.path);
    std::size_t body_limit = limits().max_body_bytes;
    if (match.outcome == Router::Outcome::found && match.route->options.max_body_bytes != 0) {
      body_limit = match.route->options.max_body_bytes;
    }
    if (auto length = parser.content_length(); length && *length > body_limit) {
      co_await reject(413, "The request body exceeds " + std::to_string(body_limit) + " bytes.");
      co_return false;
    }

    if (!parser.is_done()) {
      parser.body_limit(body_limit);
      if (auto expect = request.headers.get("Expect"); expect && iequals(*expect, "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        lowest().expires_after(limits().write_timeout);
        auto [ec, n] = co_await asio::async_write(
            stream_, asio::buffer(kContinue.data(), kContinue.size()), use_tuple);
        if (ec) co_return false;
      }
      lowest().expires_after(limits().body_timeout);
      auto [ec, n] = co_await bhttp::async_read(stream_, buffer_, parser, use_tuple);
      if (ec) {
        if (ec == bhttp::error::body_limit) {
          co_await reject(413,
                          "The request body exceeds " + std::to_string(body_limit) + " bytes.");
        } else if (is_parse_error(ec)) {
          co_await reject(400, "Malformed request body: " + ec.message() + ".");
        }
        co_return false;
      }
    }
    request.body = std::move(parser.get().body());
    bool keep_alive = parser.keep_alive();

    Response response = co_await dispatch(request, match);
    keep_alive = keep_alive && !shared_->shutting_down.load(std::memory_order_relaxed);
    bool ok = co_await write(request, std::move(response), keep_alive);
    co_return ok&& keep_alive;
  }

  asio::awaitable<Response> dispatch(Request& request, Router::Match& match) {
    if (match.outcome == Router::Outcome::found) request.route = match.route->path_template;
    request.params = std::move(match.params);
    if (shared_->observer) shared_->observer->request_started(request);
    switch (match.outcome) {
      case Router::Outcome::found:
        break;
      case Router::Outcome::not_found:
        co_return problem_response(404, "No resource at this path.", request.path);
      case Router::Outcome::method_not_allowed: {
        Response r = problem_response(
            405, request.method + " is not allowed here; allowed: " + match.allow + ".",
            request.path);
        r.headers.add("Allow", match.allow);
        co_return r;
      }
      case Router::Outcome::options: {
        Response r;
        r.status = 204;
        r.headers.add("Allow", match.allow);
        co_return r;
      }
    }
    try {
      Response response = co_await match.route->handler(request);
      co_return response;
    } catch (const std::exception& e) {
      if (shared_->observer) shared_->observer->server_error("handler", e.what());
    } catch (...) {
      if (shared_->observer) shared_->observer->server_error("handler", "unknown exception");
    }
    co_return problem_response(500, "The server failed to handle this request.", request.path);
  }

  asio::awaitable<bool> write(Request& request, Response response, bool keep_alive) {
    const bool no_body = response.status == 204 || response.status == 304 || response.status < 200;
    const bool head_only = no_body || request.method == "HEAD";
    ResponseHead head{.status = response.status,
                      .headers = &response.headers,
                      .date = http_date(),
                      .request_id = request.request_id,
                      .keep_alive = keep_alive,
                      .request_version = request.version,
                      .content_length = no_body           ? std::nullopt
                                        : response.stream ? std::optional(response.stream->size())
                                                          : std::optional(response.body.size())};
    bool ok =
        co_await send(head, head_only || response.stream ? std::string_view() : response.body);
    if (ok && response.stream && !head_only) ok = co_await send_stream(*response.stream);
    if (shared_->observer) {
      shared_->observer->request_finished(request, response,
                                          std::chrono::steady_clock::now() - request.received_at);
    }
    co_return ok;
  }

  // Refuses a request that could not be read: a problem document, then the connection closes.
  asio::awaitable<void> reject(int status, std::string detail) {
    if (shared_->observer) shared_->observer->request_rejected(status, detail);
    Response problem = problem_response(status, std::move(detail));
    ResponseHead head;
    head.status = status;
    head.headers = &problem.headers;
    head.date = http_date();
    head.keep_alive = false;
    head.content_length = problem.body.size();
    co_await send(head, problem.body);
  }

  // One gather-write of head and body, under the write timeout.
  asio::awaitable<bool> send(const ResponseHead& head, std::string_view body) {
    head_buffer_.clear();
    std::size_t dropped = append_response_head(head_buffer_, head);
    if (dropped != 0 && shared_->observer) {
      shared_->observer->server_error("response",
                                      "dropped header fields that could split the "
                                      "response (CR, LF or a bad name)");
    }
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head_buffer_),
                                              asio::buffer(body.data(), body.size())};
    lowest().expires_after(limits().write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, buffers, use_tuple);
    if (head_buffer_.capacity() > 64 * 1024) head_buffer_ = std::string();  // no hoarding
    co_return !ec;
  }

  // Copies a streamed body to the client in chunks, each write under the write timeout.
  // False when the stream ended early or the client went away: the connection must close.
  asio::awaitable<bool> send_stream(BodyStream& stream) {
    constexpr std::size_t kChunk = 256 * 1024;
    std::unique_ptr<char[]> chunk(new char[kChunk]);
    std::uint64_t remaining = stream.size();
    while (remaining > 0) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, remaining));
      std::size_t n = 0;
      try {
        n = co_await stream.read(std::span<char>(chunk.get(), want));
      } catch (const std::exception& e) {
        if (shared_->observer) shared_->observer->server_error("response stream", e.what());
      }
      if (n == 0 || n > want) co_return false;
      lowest().expires_after(limits().write_timeout);
      auto [ec, written] =
          co_await asio::async_write(stream_, asio::buffer(chunk.get(), n), use_tuple);
      if (ec) co_return false;
      remaining -= n;
    }
    co_return true;
  }

  asio::awaitable<void> close_gracefully() {
    boost::system::error_code ignored;
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      lowest().expires_after(1s);
      co_await stream_.async_shutdown(use_tuple);
    } else {
      lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    }
    lowest().socket().close(ignored);
  }

  std::shared_ptr<SessionShared> shared_;
  Stream stream_;
  std::string remote_;
  std::size_t context_index_;
  beast::flat_buffer buffer_;
  std::string head_buffer_;  // reused for every response head
  bool idle_ = false;
};

template <class Stream>
asio::awaitable<void> run_session(std::shared_ptr<SessionShared> shared, Stream stream,
                                  std::string remote_address, std::size_t context_index) {
  SessionImpl<Stream> session(std::move(shared), std::move(stream), std::move(remote_address),
                              context_index);
  co_await session.run();
}

}  // namespace

asio::awaitable<void> run_plain_session(std::shared_ptr<SessionShared> shared, PlainStream stream,
                                        std::string remote_address, std::size_t context_index) {
  return run_session(std::move(shared), std::move(stream), std::move(remote_address),
                     context_index);
}

asio::awaitable<void> run_tls_session(std::shared_ptr<SessionShared> shared, TlsStream stream,
                                      std::string remote_address, std::size_t context_index) {
  return run_session(std::move(shared), std::move(stream), std::move(remote_address),
                     context_index);
}

}  // namespace stoa::http::detail
