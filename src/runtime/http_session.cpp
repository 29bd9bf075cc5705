#include "runtime/http_session.h"

#include <algorithm>
#include <array>
#include <exception>
#include <limits>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "runtime/http/http_date.h"
#include "runtime/http/pipeline.h"
#include "runtime/http_framing.h"
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
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// What a streamed route's handler left unread is drained up to this many bytes, so that the
// connection can serve another request; a longer rest is not worth reading: it closes.
constexpr std::uint64_t kDrainBytes = 256 * 1024;
// Before closing a connection whose client may still be sending (an unread body), the server
// reads and drops its input for a moment, so that the client gets the response instead of a
// reset (closing a socket with unread input sends RST, which can discard the response).
constexpr std::uint64_t kLingerBytes = 4 * 1024 * 1024;
constexpr auto kLingerTime = 2s;

// RFC 9110 Date, formatted once a second per thread (every response carries one).
const std::string& http_date() {
  thread_local std::chrono::sys_seconds cached_second{};
  thread_local std::string cached;
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (now != cached_second || cached.empty()) {
    cached = format_http_date(now);
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

bool expects_continue(const Request& request) {
  auto expect = request.headers.get("Expect");
  return expect && iequals(*expect, "100-continue");
}

std::string too_large_detail(std::uint64_t limit) {
  return "The request body exceeds " + std::to_string(limit) + " bytes.";
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
    if (request.target.empty() || request.target.front() != '/') {
      co_await reject(400, "The request target must be a path starting with '/'.",
                      request.request_id);
      co_return false;
    }
    // Before any body byte is read: a body whose end is unknown must never be left on the
    // connection to be parsed as the next request.
    if (FramingVerdict framing = check_request_framing(request.headers, request.version);
        !framing) {
      unread_input_ = true;
      co_await reject(framing.status, std::string(framing.detail), request.request_id);
      co_return false;
    }

    Router::Match match = shared_->router->match(request.method, request.path);
    const Route* route = match.outcome == Router::Outcome::found ? match.route : nullptr;
    std::uint64_t body_limit = limits().max_body_bytes;
    if (route && route->options.max_body_bytes != 0) body_limit = route->options.max_body_bytes;
    if (auto length = parser.content_length(); length && *length > body_limit) {
      co_await reject_too_large(request, route, body_limit);
      co_return false;
    }
    if (route && route->options.stream_body) {
      co_return co_await serve_streamed(request, match, parser, body_limit);
    }

    if (!parser.is_done()) {
      parser.body_limit(body_limit);
      if (expects_continue(request)) {
        lowest().expires_after(limits().write_timeout);
        auto [ec, n] = co_await asio::async_write(
            stream_, asio::buffer(kContinue.data(), kContinue.size()), use_tuple);
        if (ec) co_return false;
      }
      lowest().expires_after(limits().body_timeout);
      auto [ec, n] = co_await bhttp::async_read(stream_, buffer_, parser, use_tuple);
      if (ec) {
        if (ec == bhttp::error::body_limit) {
          co_await reject_too_large(request, route, body_limit);
        } else if (is_parse_error(ec)) {
          co_await reject(400, "Malformed request body: " + ec.message() + ".", request.request_id);
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

  // A route that reads its body as it goes: the handler runs right after the head, with a
  // RequestBody over this connection. Afterwards a short unread rest is drained; otherwise
  // the response says Connection: close.
  asio::awaitable<bool> serve_streamed(Request& request, Router::Match& match,
                                       bhttp::request_parser<bhttp::string_body>& head,
                                       std::uint64_t limit) {
    bool keep_alive = head.keep_alive();
    StreamedBody body(*this, std::move(head), limit, expects_continue(request));
    request.body_stream = &body;
    Response response = co_await dispatch(request, match);
    request.body_stream = nullptr;
    bool reusable = co_await body.finish();
    if (!reusable) unread_input_ = true;
    keep_alive = keep_alive && reusable && !shared_->shutting_down.load(std::memory_order_relaxed);
    bool ok = co_await write(request, std::move(response), keep_alive);
    co_return ok&& keep_alive;
  }

  asio::awaitable<Response> dispatch(Request& request, Router::Match& match) {
    if (match.outcome == Router::Outcome::found) request.route = match.route->path_template;
    request.params = std::move(match.params);
    if (shared_->observer) shared_->observer->request_started(request);
    return respond(*shared_->router, match, request, shared_->observer);
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

  // Refuses a body over the route's limit, in the route's own format when it has one. The
  // client may be sending the body regardless: the close lingers (see kLingerBytes).
  asio::awaitable<void> reject_too_large(const Request& request, const Route* route,
                                         std::uint64_t limit) {
    unread_input_ = true;
    if (!route || !route->options.too_large) {
      co_await reject(413, too_large_detail(limit), request.request_id);
      co_return;
    }
    if (shared_->observer) shared_->observer->request_rejected(413, too_large_detail(limit));
    Response refusal = route->options.too_large(request, limit);
    ResponseHead head{.status = refusal.status,
                      .headers = &refusal.headers,
                      .date = http_date(),
                      .request_id = request.request_id,
                      .keep_alive = false,
                      .request_version = request.version,
                      .content_length = refusal.body.size()};
    co_await send(head, refusal.body);
  }

  // Refuses a request that could not be read: a problem document, then the connection closes.
  // Like every response it carries an X-Request-Id: the request's own when its head was read,
  // else a fresh one.
  asio::awaitable<void> reject(int status, std::string detail, std::string request_id = {}) {
    if (shared_->observer) shared_->observer->request_rejected(status, detail);
    Response problem = problem_response(status, std::move(detail));
    if (request_id.empty()) request_id = random_hex_id();
    ResponseHead head;
    head.status = status;
    head.headers = &problem.headers;
    head.date = http_date();
    head.request_id = request_id;
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
      if (unread_input_) co_await discard_input();
    }
    lowest().socket().close(ignored);
  }

  // Reads and drops what the client still sends, until it closes or a bound is reached.
  asio::awaitable<void> discard_input() {
    std::unique_ptr<char[]> scratch(new char[64 * 1024]);
    std::uint64_t dropped = buffer_.size();
    buffer_.consume(buffer_.size());
    lowest().expires_after(kLingerTime);  // one deadline for the whole wait
    while (dropped < kLingerBytes) {
      auto [ec, n] =
          co_await stream_.async_read_some(asio::buffer(scratch.get(), 64 * 1024), use_tuple);
      if (ec) break;
      dropped += n;
    }
  }

  // The body of a streamed route, read from the connection only as the handler asks for it.
  // Beast's parser moves from the head's string body to a buffer body, which parses straight
  // into the handler's buffer; the session's read buffer stays bounded (one socket read).
  class StreamedBody final : public RequestBody {
   public:
    StreamedBody(SessionImpl& session, bhttp::request_parser<bhttp::string_body>&& head,
                 std::uint64_t limit, bool expect_continue)
        : session_(session),
          parser_(std::move(head)),
          declared_(parser_.content_length()
                        ? std::optional<std::uint64_t>(*parser_.content_length())
                        : std::nullopt),
          limit_(limit),
          expect_continue_(expect_continue) {
      parser_.body_limit(limit);
    }

    std::optional<std::uint64_t> declared_length() const override { return declared_; }
    std::uint64_t limit() const override { return limit_; }

    asio::awaitable<Result<std::size_t>> read(std::span<char> out) override {
      if (failed_) co_return *failed_;
      if (parser_.is_done() || out.empty()) co_return std::size_t{0};
      if (expect_continue_ && !continue_sent_) {
        continue_sent_ = true;
        session_.lowest().expires_after(session_.limits().write_timeout);
        auto [ec, n] = co_await asio::async_write(
            session_.stream_, asio::buffer(kContinue.data(), kContinue.size()), use_tuple);
        if (ec) co_return fail(Errc::io, "cannot send 100 Continue: " + ec.message());
      }
      for (;;) {
        auto& body = parser_.get().body();
        body.data = out.data();
        body.size = out.size();
        body.more = true;
        // Per read, not for the whole body: a large upload may take long, a stalled one not.
        session_.lowest().expires_after(session_.limits().body_timeout);
        auto [ec, n] =
            co_await bhttp::async_read_some(session_.stream_, session_.buffer_, parser_, use_tuple);
        std::size_t got = out.size() - parser_.get().body().size;
        if (ec && ec != bhttp::error::need_buffer) co_return fail(ec);
        consumed_ += got;
        if (got > 0 || parser_.is_done()) co_return got;
      }
    }

    // After the handler: whether the connection can serve another request (the body was read
    // to its end, or its short rest now is).
    asio::awaitable<bool> finish() {
      if (failed_) co_return false;
      if (parser_.is_done()) co_return true;
      // 100 Continue never sent: the client may hold the body back, or send it anyway.
      if (expect_continue_ && !continue_sent_) co_return false;
      if (declared_ && *declared_ - consumed_ > kDrainBytes) co_return false;
      std::unique_ptr<char[]> scratch(new char[16 * 1024]);
      std::uint64_t drained = 0;
      while (drained <= kDrainBytes) {
        Result<std::size_t> n = co_await read(std::span<char>(scratch.get(), 16 * 1024));
        if (!n) co_return false;
        if (*n == 0) co_return true;
        drained += *n;
      }
      co_return false;
    }

   private:
    Error fail(Errc code, std::string message) {
      failed_ = Error{code, std::move(message)};
      return *failed_;
    }
    Error fail(const boost::system::error_code& ec) {
      if (ec == bhttp::error::body_limit) return fail(Errc::too_large, too_large_detail(limit_));
      if (ec == beast::error::timeout) {
        return fail(Errc::timeout, "the client sent no body bytes for " +
                                       std::to_string(session_.limits().body_timeout.count()) +
                                       " ms");
      }
      if (is_parse_error(ec)) return fail(Errc::protocol, "malformed body: " + ec.message());
      return fail(Errc::io, "the connection ended inside the body: " + ec.message());
    }

    SessionImpl& session_;
    bhttp::request_parser<bhttp::buffer_body> parser_;
    std::optional<std::uint64_t> declared_;
    std::uint64_t limit_;
    bool expect_continue_;
    bool continue_sent_ = false;
    std::uint64_t consumed_ = 0;
    std::optional<Error> failed_;
  };

  std::shared_ptr<SessionShared> shared_;
  Stream stream_;
  std::string remote_;
  std::size_t context_index_;
  beast::flat_buffer buffer_;
  std::string head_buffer_;  // reused for every response head
  bool idle_ = false;
  bool unread_input_ = false;  // the client may still be sending: linger before closing
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
