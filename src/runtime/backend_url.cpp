#include "runtime/backend_url.h"

#include <boost/url/authority_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>

namespace stoa {

namespace {

namespace urls = boost::urls;

Error bad(std::string why) {
  return Error{Errc::invalid_argument, std::move(why)};
}

Error not_valid() {
  return bad(
      "not a valid URL (RFC 3986; a space, '@', '#', '%' or the like in a part must be written "
      "%-escaped, as %20)");
}

bool scheme_char(char c, bool first) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (first) return alpha;
  return alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

// The text after SCHEME:// (url_scheme() found the scheme).
std::string_view after_scheme(std::string_view url, std::size_t scheme_size) {
  return url.substr(scheme_size + 3);
}

Result<std::optional<std::uint16_t>> port_of(bool has_port, std::string_view text) {
  if (!has_port) return std::optional<std::uint16_t>();
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
      value > 65535) {
    return bad("the port must be a number from 1 to 65535");
  }
  return std::optional<std::uint16_t>(static_cast<std::uint16_t>(value));
}

// One host of the authority, from a url_view or an authority_view.
template <class View>
Result<UrlHost> host_of(const View& view) {
  UrlHost out;
  out.ipv6 = view.host_type() == urls::host_type::ipv6;
  out.host = view.host_address();
  for (char c : out.host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return bad("the host has a space or control character");
  }
  auto port = port_of(view.has_port(), view.port());
  if (!port) return port.error();
  out.port = *port;
  return out;
}

// Path, query and fragment, the same in both forms.
void rest_of(const urls::url_view& view, BackendUrl& out) {
  out.path = view.path();
  out.has_query = view.has_query();
  for (auto param : view.encoded_params()) {
    // An empty pair ("?", "a=1&&b=2") says nothing.
    if (param.key.empty() && !param.has_value) continue;
    out.query.push_back(UrlParam{param.key.decode(), param.value.decode(), param.has_value});
  }
  out.has_fragment = view.has_fragment();
}

// SCHEME://userinfo@host1,host2…/rest -> userinfo, the hosts, and the URL with the first host
// only (what Boost.URL can read).
struct SplitAuthority {
  std::string_view userinfo;  // without the '@'
  bool has_userinfo = false;
  std::vector<std::string_view> hosts;
  std::string single;
};

SplitAuthority split_authority(std::string_view url, std::size_t scheme_size) {
  SplitAuthority out;
  const std::string_view rest = after_scheme(url, scheme_size);
  const std::size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  const std::string_view tail = end == std::string_view::npos ? "" : rest.substr(end);
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    out.userinfo = authority.substr(0, at);
    out.has_userinfo = true;
    authority = authority.substr(at + 1);
  }
  for (std::size_t start = 0;;) {
    const std::size_t comma = authority.find(',', start);
    out.hosts.push_back(authority.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  out.single = std::string(url.substr(0, scheme_size + 3));
  if (out.has_userinfo) out.single += std::string(out.userinfo) + "@";
  out.single += std::string(out.hosts.front()) + std::string(tail);
  return out;
}

Result<BackendUrl> parse_authority_form(std::string_view url, std::size_t scheme_size) {
  const SplitAuthority split = split_authority(url, scheme_size);
  auto view = urls::parse_uri(split.single);
  if (!view) return not_valid();
  // Boost.URL 1.81 reads "host:12ab/" as port 12 and path "ab/"; after an authority a path
  // must start with '/'.
  const auto encoded_path = view->encoded_path();
  if (!encoded_path.empty() && encoded_path.front() != '/') {
    return view->has_port() ? bad("the port must be a number from 1 to 65535") : not_valid();
  }
  BackendUrl out;
  out.has_userinfo = view->has_userinfo();
  if (out.has_userinfo) {
    out.user = view->user();
    out.has_password = view->has_password();
    out.password = view->password();
  }
  const bool several = split.hosts.size() > 1;
  if (several || !view->encoded_host().empty() || view->has_port()) {
    auto first = host_of(*view);
    if (!first) return first.error();
    out.hosts.push_back(std::move(*first));
  }
  for (std::size_t i = 1; i < split.hosts.size(); ++i) {
    auto authority = urls::parse_authority(split.hosts[i]);
    if (!authority || authority->has_userinfo()) return not_valid();
    auto host = host_of(*authority);
    if (!host) return host.error();
    out.hosts.push_back(std::move(*host));
  }
  if (several) {
    for (const auto& host : out.hosts) {
      if (host.host.empty()) return bad("the list of hosts has an empty entry");
    }
  }
  rest_of(*view, out);
  return out;
}

Result<BackendUrl> parse_path_form(std::string_view url, std::size_t scheme_size) {
  const std::string_view rest = after_scheme(url, scheme_size);
  // As SCHEME:PATH, Boost.URL reads the rest as a path (":memory:" included); a path that
  // starts with "//" would read as an authority.
  if (rest.starts_with("//")) return bad("the path must not start with //");
  // url_view points into this string: it must outlive `view`.
  const std::string text = std::string(url.substr(0, scheme_size + 1)) + std::string(rest);
  auto view = urls::parse_uri(text);
  if (!view) return not_valid();
  BackendUrl out;
  rest_of(*view, out);
  return out;
}

}  // namespace

const UrlHost& BackendUrl::host() const {
  static const UrlHost none;
  return hosts.empty() ? none : hosts.front();
}

std::optional<std::string> BackendUrl::param(std::string_view name) const {
  for (const auto& p : query) {
    if (p.name == name) return p.value;
  }
  return std::nullopt;
}

std::string url_scheme(std::string_view url) {
  const std::size_t colon = url.find("://");
  if (colon == std::string_view::npos || colon == 0) return {};
  std::string scheme;
  for (std::size_t i = 0; i < colon; ++i) {
    if (!scheme_char(url[i], i == 0)) return {};
    scheme += static_cast<char>(url[i] >= 'A' && url[i] <= 'Z' ? url[i] - 'A' + 'a' : url[i]);
  }
  return scheme;
}

Result<BackendUrl> parse_backend_url(std::string_view url, UrlForm form) {
  std::string scheme = url_scheme(url);
  if (scheme.empty()) return bad("not a URL: expected SCHEME://…");
  auto out = form == UrlForm::authority ? parse_authority_form(url, scheme.size())
                                        : parse_path_form(url, scheme.size());
  if (out) out->scheme = std::move(scheme);
  return out;
}

std::string redact_url(std::string_view url) {
  const std::string scheme = url_scheme(url);
  if (scheme.empty()) return "...";
  if (parse_backend_url(url, UrlForm::authority)) {
    const SplitAuthority split = split_authority(url, scheme.size());
    const std::size_t colon = split.userinfo.find(':');
    if (!split.has_userinfo || colon == std::string_view::npos) return std::string(url);
    const std::size_t password_at =
        static_cast<std::size_t>(split.userinfo.data() - url.data()) + colon + 1;
    const std::size_t at =
        static_cast<std::size_t>(split.userinfo.data() - url.data()) + split.userinfo.size();
    return std::string(url.substr(0, password_at)) + "***" + std::string(url.substr(at));
  }
  // A path-form URL has no userinfo; one with an '@' might, as text Boost.URL refused.
  if (parse_backend_url(url, UrlForm::path) &&
      after_scheme(url, scheme.size()).find('@') == std::string_view::npos) {
    return std::string(url);
  }
  return std::string(url.substr(0, scheme.size())) + "://...";
}

}  // namespace stoa
