#include "data/sql/sql_script.h"

#include <algorithm>
#include <cctype>

namespace stoa::sql {

namespace {

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// The words of `code` (SQL with quotes and comments blanked out).
std::vector<std::string> words_of(std::string_view code, std::size_t limit) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < code.size() && words.size() < limit) {
    if (!is_word_char(code[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < code.size() && is_word_char(code[i])) ++i;
    words.push_back(upper(code.substr(start, i - start)));
  }
  return words;
}

bool is_create_trigger(std::string_view code) {
  auto words = words_of(code, 3);
  if (words.size() < 2 || words[0] != "CREATE") return false;
  if (words[1] == "TRIGGER") return true;
  return words.size() == 3 && (words[1] == "TEMP" || words[1] == "TEMPORARY") &&
         words[2] == "TRIGGER";
}

bool ends_with_end(std::string_view code) {
  std::size_t end = code.size();
  while (end > 0 && !is_word_char(code[end - 1])) {
    if (code[end - 1] != ' ' && code[end - 1] != '\n' && code[end - 1] != '\t' &&
        code[end - 1] != '\r') {
      return false;
    }
    --end;
  }
  std::size_t start = end;
  while (start > 0 && is_word_char(code[start - 1])) --start;
  return upper(code.substr(start, end - start)) == "END";
}

}  // namespace

std::vector<std::string> split_sql_script(std::string_view script) {
  std::vector<std::string> statements;
  std::string text;  // the statement as written
  std::string code;  // the same with quotes and comments blanked: what the checks read
  auto take = [&](std::size_t from, std::size_t to, bool is_code) {
    text.append(script.substr(from, to - from));
    code.append(is_code ? std::string(script.substr(from, to - from))
                        : std::string(to - from, ' '));
  };
  auto flush = [&] {
    if (std::any_of(code.begin(), code.end(),
                    [](char c) { return !std::isspace(static_cast<unsigned char>(c)); })) {
      const auto first = text.find_first_not_of(" \t\r\n");
      const auto last = text.find_last_not_of(" \t\r\n");
      statements.push_back(text.substr(first, last - first + 1));
    }
    text.clear();
    code.clear();
  };
  const std::size_t n = script.size();
  std::size_t i = 0;
  while (i < n) {
    const char c = script[i];
    const char next = i + 1 < n ? script[i + 1] : '\0';
    if (c == '\'' || c == '"' || c == '`') {
      // A quoted string or identifier; a doubled quote stays inside it.
      std::size_t j = i + 1;
      for (;;) {
        j = script.find(c, j);
        if (j == std::string_view::npos) {
          j = n;
          break;
        }
        if (j + 1 < n && script[j + 1] == c) {
          j += 2;
          continue;
        }
        ++j;
        break;
      }
      text.push_back(c);
      code.push_back(c);
      take(i + 1, j, false);
      i = j;
    } else if (c == '-' && next == '-') {
      std::size_t j = script.find('\n', i);
      if (j == std::string_view::npos) j = n;
      take(i, j, false);
      i = j;
    } else if (c == '/' && next == '*') {
      // PostgreSQL nests block comments.
      std::size_t j = i + 2;
      int depth = 1;
      while (j < n && depth > 0) {
        if (script[j] == '/' && j + 1 < n && script[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (script[j] == '*' && j + 1 < n && script[j + 1] == '/') {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      }
      take(i, j, false);
      i = j;
    } else if (c == '$' &&
               (next == '$' || (std::isalpha(static_cast<unsigned char>(next)) || next == '_')) &&
               (i == 0 || !is_word_char(script[i - 1]))) {
      // PostgreSQL dollar quoting: $$...$$ or $tag$...$tag$ ($1 is a parameter).
      std::size_t j = i + 1;
      while (j < n && is_word_char(script[j])) ++j;
      if (j < n && script[j] == '$') {
        const std::string_view tag = script.substr(i, j - i + 1);
        std::size_t close = script.find(tag, j + 1);
        std::size_t end = close == std::string_view::npos ? n : close + tag.size();
        text.append(script.substr(i, end - i));
        code.append("$$");
        code.append(end - i - 2, ' ');
        i = end;
      } else {
        take(i, i + 1, true);
        ++i;
      }
    } else if (c == ';') {
      if (is_create_trigger(code) && !ends_with_end(code)) {
        take(i, i + 1, true);  // a statement inside the trigger's body
      } else {
        flush();
      }
      ++i;
    } else {
      take(i, i + 1, true);
      ++i;
    }
  }
  flush();
  return statements;
}

}  // namespace stoa::sql
