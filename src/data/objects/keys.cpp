// Validation of keys, bucket names and user metadata, shared by every backend.
#include <algorithm>
#include <cstdint>
#include <string>

#include "data/objects/object_store.h"

namespace stoa::objects {

namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 when it is not valid UTF-8
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  std::uint8_t lead = byte(i);
  std::size_t length = lead < 0x80         ? 1
                       : (lead >> 5) == 6  ? 2
                       : (lead >> 4) == 14 ? 3
                       : (lead >> 3) == 30 ? 4
                                           : 0;
  if (length == 0 || i + length > text.size()) return 0;
  std::uint32_t cp = length == 1 ? lead : lead & (0x7f >> length);
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  static constexpr std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[length] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return length;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

Status validate_key(std::string_view key) {
  if (key.empty()) return Error{Errc::invalid_argument, "the key is empty"};
  if (key.size() > kMaxKeyBytes) {
    return Error{Errc::too_large,
                 "the key is longer than " + std::to_string(kMaxKeyBytes) + " bytes"};
  }
  for (std::size_t i = 0; i < key.size();) {
    std::size_t n = utf8_sequence(key, i);
    if (n == 0) return Error{Errc::invalid_argument, "the key is not valid UTF-8"};
    if (n == 1 && (static_cast<unsigned char>(key[i]) < 0x20 || key[i] == 0x7f)) {
      return Error{Errc::invalid_argument, "the key contains a control character"};
    }
    i += n;
  }
  return Ok{};
}

Status validate_bucket_name(std::string_view name) {
  auto bad = [&](const char* why) {
    return Error{Errc::invalid_argument,
                 "bucket name " + quote_for_message(name) + " is invalid: " + why};
  };
  if (name.size() < 3 || name.size() > 63) return bad("it must be 3 to 63 characters");
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) {
      return bad("only a-z, 0-9, '.' and '-' are allowed");
    }
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back()))
    return bad("it must start and end with a letter or digit");
  if (name.find("..") != std::string_view::npos) return bad("it must not contain \"..\"");
  int dots = 0;
  bool digits_and_dots = true;
  for (char c : name) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      digits_and_dots = false;
  }
  if (digits_and_dots && dots == 3) return bad("it must not look like an IP address");
  return Ok{};
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> resolve_range(
    std::uint64_t size, const std::optional<RangeRequest>& range) {
  if (!range) return std::pair<std::uint64_t, std::uint64_t>(0, size);
  auto selected = http::resolve_range(*range, size);
  if (!selected) return std::nullopt;
  return std::pair(selected->first, selected->length);
}

Status validate_metadata(const Metadata& metadata) {
  std::size_t total = 0;
  for (const auto& [name, value] : metadata) {
    total += name.size() + value.size();
    if (name.empty()) return Error{Errc::invalid_argument, "a metadata name is empty"};
    for (char c : name) {
      if (!is_token_char(c) || (c >= 'A' && c <= 'Z')) {
        return Error{Errc::invalid_argument,
                     "metadata name " + quote_for_message(name) + " is not a lower-case token"};
      }
    }
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return Error{Errc::invalid_argument,
                     "metadata " + quote_for_message(name) + " has a control character"};
      }
    }
  }
  if (total > kMaxMetadataBytes) {
    return Error{Errc::too_large, "user metadata is " + std::to_string(total) + " bytes; at most " +
                                      std::to_string(kMaxMetadataBytes)};
  }
  return Ok{};
}

}  // namespace stoa::objects
