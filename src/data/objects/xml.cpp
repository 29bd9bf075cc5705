#include "data/objects/xml.h"

#include <charconv>

namespace stoa::objects::xml {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += "\xEF\xBF\xBD";
        } else {
          out += c;
        }
    }
  }
  return out;
}

Writer::Writer() : out_(R"(<?xml version="1.0" encoding="UTF-8"?>)") {}

Writer& Writer::open(std::string_view name, std::string_view xmlns) {
  out_ += '<';
  out_ += name;
  if (!xmlns.empty()) {
    out_ += " xmlns=\"";
    out_ += escape(xmlns);
    out_ += '"';
  }
  out_ += '>';
  return *this;
}

Writer& Writer::close(std::string_view name) {
  out_ += "</";
  out_ += name;
  out_ += '>';
  return *this;
}

Writer& Writer::element(std::string_view name, std::string_view text) {
  open(name);
  out_ += escape(text);
  return close(name);
}

const Element* Element::child(std::string_view child_name) const {
  for (const auto& c : children) {
    if (c.name == child_name) return &c;
  }
  return nullptr;
}

namespace {

class Parser {
 public:
  Parser(std::string_view text, const Limits& limits) : text_(text), limits_(limits) {}

  Result<Element> document() {
    skip_space();
    if (starts("<?xml")) {
      auto end = text_.find("?>", pos_);
      if (end == std::string_view::npos) return fail("unterminated XML declaration");
      pos_ = end + 2;
    }
    skip_misc();
    Element root;
    if (auto s = element(root, 1); !s) return s.error();
    skip_misc();
    if (pos_ != text_.size()) return fail("content after the root element");
    return root;
  }

 private:
  Error fail(const std::string& what) const {
    return Error{Errc::invalid_argument,
                 "malformed XML at byte " + std::to_string(pos_) + ": " + what};
  }
  bool starts(std::string_view s) const { return text_.substr(pos_).starts_with(s); }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  // Whitespace and comments between elements.
  void skip_misc() {
    for (;;) {
      skip_space();
      if (!starts("<!--")) return;
      auto end = text_.find("-->", pos_ + 4);
      pos_ = end == std::string_view::npos ? text_.size() : end + 3;
    }
  }
  static bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
  }
  std::string_view name() {
    std::size_t start = pos_;
    while (pos_ < text_.size() && name_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  static std::string_view local(std::string_view qualified) {
    auto colon = qualified.find(':');
    return colon == std::string_view::npos ? qualified : qualified.substr(colon + 1);
  }

  Status element(Element& out, std::size_t depth) {
    if (depth > limits_.max_depth) return Error{Errc::too_large, "XML nested too deeply"};
    if (++elements_ > limits_.max_elements) return Error{Errc::too_large, "too many XML elements"};
    if (!starts("<")) return fail("expected an element");
    ++pos_;
    std::string_view qualified = name();
    if (qualified.empty()) return fail("expected an element name");
    out.name = std::string(local(qualified));
    // Attributes (xmlns and the like) are skipped, quoted values included.
    for (;;) {
      skip_space();
      if (pos_ >= text_.size()) return fail("unterminated start tag");
      char c = text_[pos_];
      if (c == '>' || starts("/>")) break;
      if (name().empty()) return fail("malformed attribute");
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != '=') return fail("attribute without value");
      ++pos_;
      skip_space();
      if (pos_ >= text_.size() || (text_[pos_] != '"' && text_[pos_] != '\'')) {
        return fail("unquoted attribute value");
      }
      auto end = text_.find(text_[pos_], pos_ + 1);
      if (end == std::string_view::npos) return fail("unterminated attribute value");
      pos_ = end + 1;
    }
    if (starts("/>")) {
      pos_ += 2;
      return Ok{};
    }
    ++pos_;  // '>'
    for (;;) {
      if (pos_ >= text_.size()) return fail("unterminated element <" + out.name + ">");
      if (starts("</")) {
        pos_ += 2;
        if (name() != qualified) return fail("mismatched end tag for <" + out.name + ">");
        skip_space();
        if (pos_ >= text_.size() || text_[pos_] != '>') return fail("malformed end tag");
        ++pos_;
        return Ok{};
      }
      if (starts("<!--")) {
        skip_misc();
        continue;
      }
      if (starts("<![CDATA[")) {
        auto end = text_.find("]]>", pos_);
        if (end == std::string_view::npos) return fail("unterminated CDATA");
        out.text.append(text_.substr(pos_ + 9, end - pos_ - 9));
        pos_ = end + 3;
        continue;
      }
      if (starts("<!") || starts("<?")) return fail("DTDs and processing instructions are refused");
      if (starts("<")) {
        out.children.emplace_back();
        if (auto s = element(out.children.back(), depth + 1); !s) return s;
        continue;
      }
      if (text_[pos_] == '&') {
        if (auto s = reference(out.text); !s) return s;
        continue;
      }
      out.text += text_[pos_++];
    }
  }

  Status reference(std::string& out) {
    auto end = text_.find(';', pos_);
    if (end == std::string_view::npos || end - pos_ > 12) return fail("malformed reference");
    std::string_view ref = text_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    if (ref == "amp")
      out += '&';
    else if (ref == "lt")
      out += '<';
    else if (ref == "gt")
      out += '>';
    else if (ref == "quot")
      out += '"';
    else if (ref == "apos")
      out += '\'';
    else if (ref.starts_with('#')) {
      unsigned long cp = 0;
      bool hex = ref.size() > 1 && (ref[1] == 'x');
      std::string_view digits = ref.substr(hex ? 2 : 1);
      auto [p, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (ec != std::errc() || p != digits.data() + digits.size() || cp == 0 || cp > 0x10ffff ||
          (cp >= 0xd800 && cp <= 0xdfff)) {
        return fail("bad character reference");
      }
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
      } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
      }
    } else {
      return fail("unknown entity (only the predefined ones are accepted)");
    }
    return Ok{};
  }

  std::string_view text_;
  const Limits& limits_;
  std::size_t pos_ = 0;
  std::size_t elements_ = 0;
};

}  // namespace

Result<Element> parse(std::string_view document, const Limits& limits) {
  if (document.size() > limits.max_bytes) {
    return Error{Errc::too_large,
                 "the XML body exceeds " + std::to_string(limits.max_bytes) + " bytes"};
  }
  return Parser(document, limits).document();
}

}  // namespace stoa::objects::xml
