#pragma once
// The little XML the S3 API needs, written by hand so that nothing untrusted reaches a
// general XML library: a writer that escapes everything it is given, and a strict, bounded
// reader for the few request bodies (CompleteMultipartUpload, Delete,
// CreateBucketConfiguration). The reader knows elements and text only: no attributes are
// interpreted, no entities beyond the five predefined ones and character references, no
// DTD, no processing instructions beyond the XML declaration.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/error.h"

namespace stoa::objects::xml {

// Escapes &, <, >, " and '; bytes that XML 1.0 forbids (control characters) become U+FFFD.
std::string escape(std::string_view text);

class Writer {
 public:
  Writer();  // starts with the XML declaration
  // Opens <name xmlns="…"> (namespace only when given).
  Writer& open(std::string_view name, std::string_view xmlns = {});
  Writer& close(std::string_view name);
  // <name>escaped text</name>
  Writer& element(std::string_view name, std::string_view text);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

struct Element {
  std::string name;  // without namespace prefix
  std::string text;  // concatenated character data directly inside
  std::vector<Element> children;

  // The first child of that name, or nullptr.
  const Element* child(std::string_view child_name) const;
};

struct Limits {
  std::size_t max_bytes = 2 * 1024 * 1024;
  std::size_t max_depth = 8;
  std::size_t max_elements = 20000;
};

// Errc::invalid_argument (malformed) or too_large, naming where.
Result<Element> parse(std::string_view document, const Limits& limits = {});

}  // namespace stoa::objects::xml
