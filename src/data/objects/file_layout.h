#pragma once
// How the filesystem store lays keys out on disk (docs/data-objects.md, "On disk").
//
// A key is split at '/'; each segment is percent-encoded (every byte outside
// [A-Za-z0-9._~-] becomes %XX) and gets a suffix: ".d" for a directory on the way, ".o" for
// the object file itself. So "photos/2024/a b.jpg" is photos.d/2024.d/a%20b.jpg.o. No segment
// can be "." or "..", contain '/', or collide with another key's (a file always ends in ".o",
// a directory in ".d"), so no key can escape its bucket's directory.
//
// An object file holds the bytes, then a JSON description, then a fixed-size footer:
//   <data><json>\n<json length, 10 decimal digits> STOA-OBJECT-1\n
// so that a put writes it in one pass and one rename publishes bytes and metadata together.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "data/objects/object_store.h"
#include "runtime/error.h"

namespace stoa::objects::layout {

inline constexpr std::string_view kObjectSuffix = ".o";
inline constexpr std::string_view kDirectorySuffix = ".d";
inline constexpr std::size_t kFooterBytes = 26;
inline constexpr std::size_t kMaxDescriptionBytes = 32 * 1024;

std::string encode_segment(std::string_view segment);
std::optional<std::string> decode_segment(std::string_view encoded);

// The object file's path relative to the bucket directory; too_large when a segment would
// not fit in a file name (255 bytes).
Result<std::filesystem::path> object_path(std::string_view key);
// Whether object_path(key) succeeds (every encoded segment fits), without building it.
bool key_fits(std::string_view key);

// The description and footer to append after the data.
std::string trailer(const ObjectInfo& info);
// Parses a description + footer from the end of an object file of `file_size` bytes;
// `tail` holds the file's last bytes (at least the description and footer).
struct Parsed {
  ObjectInfo info;
  std::uint64_t data_bytes = 0;  // the data is the file's first data_bytes bytes
};
// The description's length from the footer (the file's last kFooterBytes bytes).
std::optional<std::size_t> description_length(std::string_view footer);
Result<Parsed> parse_description(std::string_view json, std::uint64_t file_size);

}  // namespace stoa::objects::layout
