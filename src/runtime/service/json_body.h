#pragma once
// Service kit: reading a JSON request body the way every service's route does: an object
// whose fields are all known to the route, each of the expected type and within bounds.
// Everything wrong is Errc::invalid_argument with a message naming the field, answered as 400.
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "runtime/error.h"
#include "runtime/http_types.h"

namespace stoa::service {

// The body as a JSON object (at most 32 levels deep) holding only `allowed` fields.
Result<boost::json::object> json_object(const http::Request& request,
                                        std::initializer_list<std::string_view> allowed);

struct TextRule {
  bool required = true;
  std::size_t min_chars = 0;  // code points
  std::size_t max_chars = 0;  // code points; 0: no bound beyond max_bytes
  std::size_t max_bytes = 4096;
  bool single_line = true;  // no control characters at all (else tabs and newlines pass)
  // No bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069): text shown
  // to other people, whose order on screen such characters could turn around (a name rendered
  // as someone else's).
  bool no_bidi_controls = false;
};

// The field as text, or nullopt when absent and not required.
Result<std::optional<std::string>> text_field(const boost::json::object& body,
                                              std::string_view name, const TextRule& rule);

// Code points in valid UTF-8.
std::size_t count_chars(std::string_view utf8);

}  // namespace stoa::service
