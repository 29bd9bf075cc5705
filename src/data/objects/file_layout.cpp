#include "data/objects/file_layout.h"

#include <boost/json.hpp>

#include <charconv>
#include <cstdio>

#include "data/objects/sigv4.h"
#include "runtime/json.h"

namespace stoa::objects::layout {

namespace {

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '~' || c == '-';
}

constexpr std::string_view kMagic = " STOA-OBJECT-1\n";

}  // namespace

std::string encode_segment(std::string_view segment) {
  // The same escaping as SigV4's canonical URIs: RFC 3986's unreserved bytes stay, the rest
  // (the slash too) become %XX, so a segment never holds a path separator.
  return sigv4::uri_encode(segment, /*encode_slash=*/true);
}

std::optional<std::string> decode_segment(std::string_view encoded) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c != '%') {
      if (!unreserved(c)) return std::nullopt;
      out += c;
      continue;
    }
    if (i + 2 >= encoded.size()) return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(encoded.data() + i + 1, encoded.data() + i + 3, value, 16);
    if (ec != std::errc() || end != encoded.data() + i + 3) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

Result<std::filesystem::path> object_path(std::string_view key) {
  std::filesystem::path path;
  for (;;) {
    auto slash = key.find('/');
    std::string name = encode_segment(key.substr(0, slash));
    name += slash == std::string_view::npos ? kObjectSuffix : kDirectorySuffix;
    if (name.size() > 255) {
      return Error{Errc::too_large,
                   "a segment of the key is too long for the filesystem store (255 bytes encoded)"};
    }
    path /= name;
    if (slash == std::string_view::npos) break;
    key.remove_prefix(slash + 1);
  }
  return path;
}

bool key_fits(std::string_view key) {
  std::size_t encoded = 0;
  for (char c : key) {
    if (c == '/') {
      if (encoded + kDirectorySuffix.size() > 255) return false;
      encoded = 0;
      continue;
    }
    encoded += unreserved(c) ? 1 : 3;
  }
  return encoded + kObjectSuffix.size() <= 255;
}

std::string trailer(const ObjectInfo& info) {
  boost::json::object metadata;
  for (const auto& [name, value] : info.metadata) metadata[name] = value;
  boost::json::object description{
      {"key", info.key},
      {"size", info.size},
      {"etag", info.etag},
      {"content_type", info.content_type},
      {"metadata", std::move(metadata)},
      {"last_modified_ms",
       std::chrono::duration_cast<std::chrono::milliseconds>(info.last_modified.time_since_epoch())
           .count()},
  };
  std::string out = boost::json::serialize(description);
  char footer[32];
  std::snprintf(footer, sizeof footer, "\n%010zu", out.size());
  out += footer;
  out += kMagic;
  return out;
}

std::optional<std::size_t> description_length(std::string_view footer) {
  if (footer.size() != kFooterBytes || footer[0] != '\n' || !footer.ends_with(kMagic)) {
    return std::nullopt;
  }
  std::size_t length = 0;
  auto [end, ec] = std::from_chars(footer.data() + 1, footer.data() + 11, length);
  if (ec != std::errc() || end != footer.data() + 11 || length > kMaxDescriptionBytes) {
    return std::nullopt;
  }
  return length;
}

Result<Parsed> parse_description(std::string_view json_text, std::uint64_t file_size) {
  auto corrupt = [](std::string what) {
    return Error{Errc::io, "corrupt object file: " + std::move(what)};
  };
  auto value = json::parse(json_text, {.max_bytes = kMaxDescriptionBytes, .max_depth = 4});
  if (!value || !value->is_object()) return corrupt("unreadable description");
  const auto& object = value->as_object();
  Parsed parsed;
  try {
    parsed.info.key = std::string(object.at("key").as_string());
    parsed.info.size = object.at("size").to_number<std::uint64_t>();
    parsed.info.etag = std::string(object.at("etag").as_string());
    parsed.info.content_type = std::string(object.at("content_type").as_string());
    for (const auto& [name, v] : object.at("metadata").as_object()) {
      parsed.info.metadata[std::string(name)] = std::string(v.as_string());
    }
    parsed.info.last_modified = std::chrono::system_clock::time_point(
        std::chrono::milliseconds(object.at("last_modified_ms").to_number<std::int64_t>()));
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
  std::uint64_t overhead = json_text.size() + kFooterBytes;
  if (file_size < overhead || file_size - overhead != parsed.info.size) {
    return corrupt("size does not match the description");
  }
  parsed.data_bytes = parsed.info.size;
  return parsed;
}

}  // namespace stoa::objects::layout
