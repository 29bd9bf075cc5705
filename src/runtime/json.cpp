#include "runtime/json.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_stack.hpp>

namespace stoa::json {
namespace {

namespace bj = boost::json;

// Builds the value exactly as boost::json::parser does (through a value_stack), and in
// addition rejects an object that names a key twice. Boost.JSON 1.81 silently keeps the last
// duplicate; two components reading the same document could then disagree about it (one
// validating the first "amount", another using the second), so duplicates are an error here,
// as RFC 8259 permits ("names within an object SHOULD be unique").
class Handler {
 public:
  static constexpr std::size_t max_object_size = bj::object::max_size();
  static constexpr std::size_t max_array_size = bj::array::max_size();
  static constexpr std::size_t max_key_size = bj::string::max_size();
  static constexpr std::size_t max_string_size = bj::string::max_size();

  Handler(unsigned char* temp, std::size_t temp_size) : stack_({}, temp, temp_size) {
    stack_.reset();
  }

  bj::value release() { return stack_.release(); }
  const std::optional<std::string>& duplicate_key() const { return duplicate_; }

  bool on_document_begin(bj::error_code&) { return true; }
  bool on_document_end(bj::error_code&) { return true; }
  bool on_object_begin(bj::error_code&) {
    keys_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t n, bj::error_code& ec) {
    auto& keys = keys_.back();
    std::sort(keys.begin(), keys.end());
    if (auto it = std::adjacent_find(keys.begin(), keys.end()); it != keys.end()) {
      duplicate_ = *it;
      ec = bj::error::syntax;
      return false;
    }
    keys_.pop_back();
    stack_.push_object(n);
    return true;
  }
  bool on_array_begin(bj::error_code&) { return true; }
  bool on_array_end(std::size_t n, bj::error_code&) {
    stack_.push_array(n);
    return true;
  }
  bool on_key_part(bj::string_view s, std::size_t, bj::error_code&) {
    key_.append(s.data(), s.size());
    stack_.push_chars(s);
    return true;
  }
  bool on_key(bj::string_view s, std::size_t, bj::error_code&) {
    key_.append(s.data(), s.size());
    keys_.back().push_back(std::move(key_));
    key_.clear();
    stack_.push_key(s);
    return true;
  }
  bool on_string_part(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_string(s);
    return true;
  }
  bool on_number_part(bj::string_view, bj::error_code&) { return true; }
  bool on_int64(std::int64_t i, bj::string_view, bj::error_code&) {
    stack_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, bj::string_view, bj::error_code&) {
    stack_.push_uint64(u);
    return true;
  }
  bool on_double(double d, bj::string_view, bj::error_code&) {
    stack_.push_double(d);
    return true;
  }
  bool on_bool(bool b, bj::error_code&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(bj::error_code&) {
    stack_.push_null();
    return true;
  }
  bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
  bool on_comment(bj::string_view, bj::error_code&) { return true; }

 private:
  bj::value_stack stack_;
  std::vector<std::vector<std::string>> keys_;  // keys of each open object, innermost last
  std::string key_;
  std::optional<std::string> duplicate_;
};


}  // namespace

Result<boost::json::value> parse(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error{Errc::too_large, "JSON document is " + std::to_string(text.size()) +
                                      " bytes, more than the limit of " +
                                      std::to_string(limits.max_bytes)};
  }
  bj::parse_options options;
  options.max_depth = limits.max_depth;
  options.allow_invalid_utf8 = false;  // the default, stated because it matters
  unsigned char temp[4096];
  bj::basic_parser<Handler> parser(options, temp, sizeof temp);
  bj::error_code ec;
  const std::size_t offset = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && offset < text.size()) ec = bj::error::extra_data;
  if (!ec) return parser.handler().release();

  const std::string at = " at byte " + std::to_string(offset);
  if (ec == bj::error::too_deep) {
    return Error{Errc::too_large, "JSON nesting is too deep" + at + " (limit " +
                                      std::to_string(limits.max_depth) + " levels)"};
  }
  if (const auto& key = parser.handler().duplicate_key()) {
    return Error{Errc::invalid_argument,
                 "malformed JSON" + at + ": duplicate object key " + quote_for_message(*key)};
  }
  if (offset < text.size() && static_cast<unsigned char>(text[offset]) >= 0x80) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[offset]));
    return Error{Errc::invalid_argument,
                 "malformed JSON" + at + ": invalid UTF-8 or unexpected byte " + byte};
  }
  return Error{Errc::invalid_argument, "malformed JSON" + at + ": " + ec.message()};
}

std::string serialize(const boost::json::value& value) {
  return boost::json::serialize(value);
}

}  // namespace stoa::json
