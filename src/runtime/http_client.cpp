#include "runtime/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cerrno>
#include <charconv>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/tls.h"

namespace stoa::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
namespace urls = boost::urls;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// Status line plus headers of one response; a peer sending more is not a web server.
constexpr std::uint32_t kMaxResponseHeaderBytes = 64 * 1024;
// Interim (1xx) responses skipped before the final one.
constexpr int kMaxInterimResponses = 8;

// Where a request goes, taken apart once.
struct Target {
  bool tls = false;
  std::string host;  // for connecting and TLS checks: a name, or an IP without brackets
  bool host_is_ip = false;
  std::uint16_t port = 0;
  std::string host_header;  // as written in the URL: "example.com:8080", "[::1]:80"
  std::string target;       // origin-form request target: "/path?query"
  std::string key;          // the pool's upstream: "https://example.com:443"
  std::string display;      // for messages: "example.com:443"
};

Error make_error(Errc code, std::string message) {
  return Error{code, std::move(message)};
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (unsigned char c : text) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// Header values must not end the header early (CR, LF) or carry NUL.
bool is_safe_value(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string lowercase(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

Result<Target> parse_target(std::string_view text) {
  auto parsed = urls::parse_absolute_uri(text);
  if (!parsed) {
    return make_error(Errc::invalid_argument,
                      "invalid URL '" + std::string(text) + "': " + parsed.error().message());
  }
  urls::url_view url = *parsed;
  Target target;
  if (url.scheme_id() == urls::scheme::http) {
    target.tls = false;
  } else if (url.scheme_id() == urls::scheme::https) {
    target.tls = true;
  } else {
    return make_error(Errc::invalid_argument,
                      "unsupported URL scheme '" + std::string(url.scheme()) + "' (http, https)");
  }
  if (!url.has_authority() || url.encoded_host().empty()) {
    return make_error(Errc::invalid_argument, "URL '" + std::string(text) + "' has no host");
  }
  if (url.has_userinfo()) {
    // Credentials belong in headers, where they are not logged along with the URL.
    return make_error(Errc::invalid_argument, "credentials in URLs are not supported");
  }
  switch (url.host_type()) {
    case urls::host_type::ipv4:
      target.host = url.host_ipv4_address().to_string();
      target.host_is_ip = true;
      break;
    case urls::host_type::ipv6:
      target.host = url.host_ipv6_address().to_string();
      target.host_is_ip = true;
      break;
    case urls::host_type::name:
      target.host = lowercase(url.host_name());
      if (!is_safe_value(target.host)) {
        return make_error(Errc::invalid_argument, "invalid host in URL");
      }
      break;
    default:
      return make_error(Errc::invalid_argument,
                        "unsupported host in URL '" + std::string(text) + "'");
  }

  target.port = target.tls ? 443 : 80;
  std::string host_header(url.encoded_host_and_port());
  if (url.has_port()) {
    std::string_view digits = url.port();
    if (digits.empty()) {
      host_header.pop_back();  // "host:" -> "host"
    } else {
      unsigned value = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec != std::errc() || end != digits.data() + digits.size() || value == 0 ||
          value > 65535) {
        return make_error(Errc::invalid_argument,
                          "invalid port in URL '" + std::string(text) + "'");
      }
      target.port = static_cast<std::uint16_t>(value);
    }
  }
  target.host_header = std::move(host_header);

  std::string_view path = url.encoded_path();
  target.target = path.empty() ? "/" : std::string(path);
  if (url.has_query()) {
    target.target += '?';
    target.target += url.encoded_query();
  }
  std::string port = std::to_string(target.port);
  target.display =
      (url.host_type() == urls::host_type::ipv6 ? "[" + target.host + "]" : target.host) + ":" +
      port;
  target.key = (target.tls ? "https://" : "http://") + target.display;
  return target;
}

using Message = bhttp::request<bhttp::string_body>;

// GET, HEAD, PUT, DELETE, OPTIONS and TRACE may be sent twice with the effect of once.
bool is_idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "TRACE";
}

Result<Message> build_message(ClientRequest& request, const Target& target) {
  if (!is_token(request.method)) {
    return make_error(Errc::invalid_argument, "invalid HTTP method '" + request.method + "'");
  }
  Message message;
  message.version(11);
  message.method_string(request.method);
  message.target(target.target);
  if (!request.headers.has("Host")) message.set(bhttp::field::host, target.host_header);
  bool propagate_trace = request.trace.valid();
  for (const auto& [name, value] : request.headers) {
    if (!is_token(name) || !is_safe_value(value)) {
      return make_error(Errc::invalid_argument, "invalid request header '" + name + "'");
    }
    // The body decides its own framing; the trace context comes from request.trace.
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) continue;
    if (propagate_trace && (iequals(name, "traceparent") || iequals(name, "tracestate"))) {
      continue;
    }
    message.insert(name, value);
  }
  if (!request.headers.has("User-Agent")) {
    message.set(bhttp::field::user_agent, "stoa/" STOA_VERSION);
  }
  if (propagate_trace) {
    message.set("traceparent", request.trace.traceparent());
    if (!request.trace.tracestate.empty() && is_safe_value(request.trace.tracestate)) {
      message.set("tracestate", request.trace.tracestate);
    }
  }
  message.body() = std::move(request.body);
  try {
    message.prepare_payload();  // Content-Length, or none for a body-less GET
  } catch (const std::invalid_argument&) {
    return make_error(Errc::invalid_argument, request.method + " requests cannot carry a body");
  }
  return message;
}

// One connection to an upstream, plain or TLS.
struct Connection {
  std::string key;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  Clock::time_point idle_since{};

  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  // A pooled connection the peer has closed (or sent unsolicited bytes on) is not worth a
  // request. One non-blocking peek; the retry in send() covers the race that remains.
  bool looks_alive() {
    auto& socket = tcp().socket();
    if (!socket.is_open()) return false;
    char byte = 0;
    ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return false;  // orderly close
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    // Bytes on an idle plain connection are garbage; on TLS they may be a session ticket.
    return secure.has_value();
  }
};

// What one write-then-read on a connection produced.
struct Exchange {
  error_code ec;
  bool wrote = false;
  bool got_response_bytes = false;
  std::optional<Response> response;
  bool keep_alive = false;
};

Response to_response(bhttp::response<bhttp::string_body>&& message) {
  Response response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    response.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  response.body = std::move(message.body());
  return response;
}

template <class Stream>
Awaitable<Exchange> exchange_on(Stream& stream, Connection& connection, const Message& message,
                                bool head, Clock::time_point deadline, std::size_t max_body) {
  Exchange out;
  // One absolute deadline for the whole exchange: beast::tcp_stream keeps it across the
  // write and every read until it is changed.
  connection.tcp().expires_at(deadline);
  auto [write_ec, written] = co_await bhttp::async_write(stream, message, kNoThrow);
  (void)written;
  if (write_ec) {
    out.ec = write_ec;
    co_return out;
  }
  out.wrote = true;
  for (int interim = 0;; ++interim) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.header_limit(kMaxResponseHeaderBytes);
    parser.body_limit(max_body);
    if (head) parser.skip(true);
    auto [read_ec, read] = co_await bhttp::async_read(stream, connection.buffer, parser, kNoThrow);
    (void)read;
    if (parser.got_some() || connection.buffer.size() > 0) out.got_response_bytes = true;
    if (read_ec) {
      out.ec = read_ec;
      co_return out;
    }
    unsigned status = parser.get().result_int();
    if (status >= 100 && status < 200 && status != 101) {
      if (interim < kMaxInterimResponses) continue;
      out.ec = bhttp::error::bad_status;
      co_return out;
    }
    out.keep_alive = parser.keep_alive() && status != 101 && connection.buffer.size() == 0;
    out.response = to_response(parser.release());
    co_return out;
  }
}

Awaitable<Exchange> exchange(Connection& connection, const Message& message, bool head,
                             Clock::time_point deadline, std::size_t max_body) {
  if (connection.secure) {
    co_return co_await exchange_on(*connection.secure, connection, message, head, deadline,
                                   max_body);
  }
  co_return co_await exchange_on(*connection.plain, connection, message, head, deadline, max_body);
}

bool is_http_error(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category();
}

bool is_closed_by_peer(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

Error exchange_error(const Exchange& exchange, const Target& target, std::size_t max_body) {
  const error_code& ec = exchange.ec;
  const std::string& peer = target.display;
  if (ec == beast::error::timeout) {
    return make_error(Errc::timeout, "request to " + peer + " timed out");
  }
  if (ec == bhttp::error::body_limit) {
    return make_error(Errc::too_large, "response body from " + peer + " exceeds " +
                                           std::to_string(max_body) + " bytes");
  }
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return make_error(Errc::too_large, "response header from " + peer + " exceeds " +
                                           std::to_string(kMaxResponseHeaderBytes) + " bytes");
  }
  if (ec == asio::error::operation_aborted) {
    return make_error(Errc::cancelled, "request to " + peer + " was cancelled");
  }
  if (is_closed_by_peer(ec)) {
    if (!exchange.got_response_bytes) {
      return make_error(Errc::unavailable,
                        peer + " closed the connection before responding (" + ec.message() + ")");
    }
    return make_error(Errc::protocol, "response from " + peer + " was cut short");
  }
  if (is_http_error(ec)) {
    return make_error(Errc::protocol, "malformed response from " + peer + ": " + ec.message());
  }
  return make_error(Errc::io, "request to " + peer + " failed: " + ec.message());
}

// The OpenSSL reason a handshake failed, with the certificate check's verdict when it failed.
std::string handshake_reason(const error_code& ec, SSL* ssl) {
  std::string reason = ec.message();
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    reason += " (certificate: ";
    reason += X509_verify_cert_error_string(verify);
    reason += ")";
  }
  return reason;
}

}  // namespace

struct Client::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, ClientOptions opts)
      : context(io),
        options(std::move(opts)),
        tls_context(tls::make_client_context(options.verify_tls, options.ca_file)),
        sweep_timer(io) {}

  asio::io_context& context;
  const ClientOptions options;
  const std::shared_ptr<ssl::context> tls_context;

  // The pool: idle connections per upstream, newest last. Guarded by `mutex` so that
  // idle_connections() and the destructor may be called from another thread.
  mutable std::mutex mutex;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
  asio::steady_timer sweep_timer;  // closes connections idle for longer than idle_timeout
  bool sweeping = false;
  bool closed = false;

  static Awaitable<Result<Response>> send(std::shared_ptr<Impl> self, ClientRequest request) {
    try {
      co_return co_await self->run(std::move(request));
    } catch (const std::exception& e) {
      co_return make_error(Errc::internal, std::string("HTTP client: ") + e.what());
    }
  }

  Awaitable<Result<Response>> run(ClientRequest request) {
    auto target = parse_target(request.url);
    if (!target) co_return target.error();
    const Clock::time_point deadline =
        Clock::now() + request.timeout.value_or(options.request_timeout);
    const bool idempotent = is_idempotent(request.method);
    const bool head = request.method == "HEAD";
    auto message = build_message(request, *target);
    if (!message) co_return message.error();

    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<Connection> connection = attempt == 0 ? take_idle(target->key) : nullptr;
      const bool reused = connection != nullptr;
      if (!connection) {
        auto connected = co_await connect(*target, deadline);
        if (!connected) co_return connected.error();
        connection = std::move(connected).value();
      }
      Exchange result =
          co_await exchange(*connection, *message, head, deadline, options.max_response_bytes);
      if (result.response) {
        if (result.keep_alive) release(std::move(connection));
        co_return std::move(*result.response);
      }
      connection.reset();
      // A pooled connection the server closed in the meantime fails before any response
      // byte; an idempotent request may then go again, once, on a fresh connection.
      if (attempt == 0 && reused && idempotent && !result.got_response_bytes &&
          result.ec != beast::error::timeout && result.ec != asio::error::operation_aborted) {
        continue;
      }
      co_return exchange_error(result, *target, options.max_response_bytes);
    }
  }

  Awaitable<Result<std::vector<tcp::endpoint>>> resolve(const Target& target,
                                                        Clock::time_point deadline) {
    error_code ec;
    auto address = asio::ip::make_address(target.host, ec);
    if (!ec) co_return std::vector<tcp::endpoint>{tcp::endpoint(address, target.port)};

    // getaddrinfo cannot be interrupted, so the coroutine waits on a timer that the resolver's
    // completion cancels: at the deadline it leaves, and the lookup finishes on its own.
    struct Lookup {
      explicit Lookup(asio::any_io_executor executor) : resolver(executor), done(executor) {}
      tcp::resolver resolver;
      asio::steady_timer done;
      bool finished = false;
      error_code ec;
      std::vector<tcp::endpoint> endpoints;
    };
    auto lookup = std::make_shared<Lookup>(context.get_executor());
    lookup->done.expires_at(deadline);
    lookup->resolver.async_resolve(
        target.host, std::to_string(target.port),
        [lookup](const error_code& resolve_ec, const tcp::resolver::results_type& results) {
          lookup->finished = true;
          lookup->ec = resolve_ec;
          for (const auto& entry : results) lookup->endpoints.push_back(entry.endpoint());
          lookup->done.cancel();
        });
    co_await lookup->done.async_wait(kNoThrow);
    if (!lookup->finished) {
      lookup->resolver.cancel();
      co_return make_error(Errc::timeout, "resolving " + target.host + " timed out");
    }
    if (lookup->ec || lookup->endpoints.empty()) {
      co_return make_error(Errc::unavailable,
                           "cannot resolve " + target.host + ": " +
                               (lookup->ec ? lookup->ec.message() : std::string("no address")));
    }
    co_return std::move(lookup->endpoints);
  }

  Awaitable<Result<std::unique_ptr<Connection>>> connect(const Target& target,
                                                         Clock::time_point deadline) {
    const Clock::time_point connect_deadline =
        std::min(deadline, Clock::now() + options.connect_timeout);
    auto endpoints = co_await resolve(target, connect_deadline);
    if (!endpoints) co_return endpoints.error();

    beast::tcp_stream stream(context.get_executor());
    stream.expires_at(connect_deadline);
    auto [connect_ec, endpoint] = co_await stream.async_connect(*endpoints, kNoThrow);
    (void)endpoint;
    if (connect_ec == beast::error::timeout) {
      co_return make_error(Errc::timeout, "connecting to " + target.display + " timed out");
    }
    if (connect_ec == asio::error::operation_aborted) {
      co_return make_error(Errc::cancelled, "connecting to " + target.display + " was cancelled");
    }
    if (connect_ec) {
      co_return make_error(Errc::unavailable,
                           "cannot connect to " + target.display + ": " + connect_ec.message());
    }
    error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);

    auto connection = std::make_unique<Connection>();
    connection->key = target.key;
    if (!target.tls) {
      connection->plain.emplace(std::move(stream));
      connection->tcp().expires_never();
      co_return std::move(connection);
    }

    connection->secure.emplace(std::move(stream), *tls_context);
    SSL* native = connection->secure->native_handle();
    if (!target.host_is_ip && SSL_set_tlsext_host_name(native, target.host.c_str()) != 1) {
      co_return make_error(Errc::internal, "cannot set TLS SNI for " + target.host);
    }
    if (options.verify_tls) {
      // OpenSSL checks the name (or IP) against the certificate's SAN during the handshake.
      X509_VERIFY_PARAM* param = SSL_get0_param(native);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      int set = target.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, target.host.c_str())
                                  : X509_VERIFY_PARAM_set1_host(param, target.host.c_str(), 0);
      if (set != 1) co_return make_error(Errc::internal, "cannot set TLS host check");
    }
    connection->tcp().expires_at(connect_deadline);
    auto [handshake_ec] =
        co_await connection->secure->async_handshake(ssl::stream_base::client, kNoThrow);
    if (handshake_ec == beast::error::timeout) {
      co_return make_error(Errc::timeout, "TLS handshake with " + target.display + " timed out");
    }
    if (handshake_ec) {
      co_return make_error(Errc::unavailable, "TLS handshake with " + target.display + " failed: " +
                                                  handshake_reason(handshake_ec, native));
    }
    connection->tcp().expires_never();
    co_return std::move(connection);
  }

  std::unique_ptr<Connection> take_idle(const std::string& key) {
    std::vector<std::unique_ptr<Connection>> dropped;  // closed outside the lock
    std::lock_guard lock(mutex);
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    auto& list = it->second;
    const auto now = Clock::now();
    std::unique_ptr<Connection> found;
    while (!list.empty() && !found) {
      std::unique_ptr<Connection> candidate = std::move(list.back());
      list.pop_back();
      if (now - candidate->idle_since < options.idle_timeout && candidate->looks_alive()) {
        found = std::move(candidate);
      } else {
        dropped.push_back(std::move(candidate));
      }
    }
    if (list.empty()) idle.erase(it);
    return found;
  }

  void release(std::unique_ptr<Connection> connection) {
    if (options.max_idle_per_upstream == 0) return;
    connection->tcp().expires_never();
    std::unique_ptr<Connection> evicted;  // closed outside the lock
    std::lock_guard lock(mutex);
    if (closed) {
      evicted = std::move(connection);
      return;
    }
    auto& list = idle[connection->key];
    if (list.size() >= options.max_idle_per_upstream) {
      evicted = std::move(list.front());  // the oldest goes first: it expires soonest
      list.erase(list.begin());
    }
    connection->idle_since = Clock::now();
    list.push_back(std::move(connection));
    schedule_sweep_locked();
  }

  // Arms the sweep timer for the oldest idle connection, unless it is armed already (then it
  // fires no later than needed, since connections join the pool in time order).
  void schedule_sweep_locked() {
    if (sweeping || closed || idle.empty()) return;
    Clock::time_point oldest = Clock::time_point::max();
    for (const auto& [key, list] : idle) {
      if (!list.empty()) oldest = std::min(oldest, list.front()->idle_since);
    }
    if (oldest == Clock::time_point::max()) return;
    sweeping = true;
    sweep_timer.expires_at(oldest + options.idle_timeout);
    sweep_timer.async_wait([weak = weak_from_this()](const error_code&) {
      if (auto self = weak.lock()) self->sweep();
    });
  }

  void sweep() {
    std::vector<std::unique_ptr<Connection>> expired;  // closed outside the lock
    std::lock_guard lock(mutex);
    sweeping = false;
    if (closed) return;
    const auto now = Clock::now();
    for (auto it = idle.begin(); it != idle.end();) {
      auto& list = it->second;
      auto keep = std::find_if(list.begin(), list.end(), [&](const auto& connection) {
        return now - connection->idle_since < options.idle_timeout;
      });
      std::move(list.begin(), keep, std::back_inserter(expired));
      list.erase(list.begin(), keep);
      it = list.empty() ? idle.erase(it) : std::next(it);
    }
    schedule_sweep_locked();
  }

  std::size_t idle_count() const {
    std::lock_guard lock(mutex);
    std::size_t count = 0;
    for (const auto& [key, list] : idle) count += list.size();
    return count;
  }

  // The Client is going away: close idle connections now; requests still running keep the
  // Impl alive through their own reference and close their connection when done.
  void shutdown() {
    std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> doomed;
    std::lock_guard lock(mutex);
    closed = true;
    doomed.swap(idle);
    sweep_timer.cancel();
  }
};

Client::Client(asio::io_context& context, ClientOptions options)
    : impl_(std::make_shared<Impl>(context, std::move(options))) {}

Client::~Client() {
  if (impl_) impl_->shutdown();
}

Awaitable<Result<Response>> Client::send(ClientRequest request) {
  // The coroutine owns a reference to Impl, so it may outlive this Client.
  return Impl::send(impl_, std::move(request));
}

std::size_t Client::idle_connections() const {
  return impl_->idle_count();
}

}  // namespace stoa::http
