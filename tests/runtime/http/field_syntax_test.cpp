#include "runtime/http/detail/field_syntax.h"

#include <gtest/gtest.h>

namespace stoa::http::detail {
namespace {

TEST(FieldSyntax, Tokens) {
  EXPECT_TRUE(is_token("max-age"));
  EXPECT_TRUE(is_token("!#$%&'*+-.^_`|~09azAZ"));
  for (const char* text : {"", "a b", "a,b", "a\"", "a=b", "a;b", "a/b", "\x80", "a\t"}) {
    EXPECT_FALSE(is_token(text)) << text;
  }
  EXPECT_FALSE(is_tchar('\0'));
  EXPECT_FALSE(is_tchar('\x7f'));
}

TEST(FieldSyntax, TrimsOptionalWhitespaceOnly) {
  EXPECT_EQ(trim_ows(" \t a b \t "), "a b");
  EXPECT_EQ(trim_ows("   "), "");
  EXPECT_EQ(trim_ows("\r\na\n"), "\r\na\n");  // CR and LF are not OWS
}

TEST(FieldSyntax, LowersAsciiOnly) {
  EXPECT_EQ(ascii_lower("Max-AGE"), "max-age");
  EXPECT_EQ(ascii_lower("\xC3\x89Z"), "\xC3\x89z");
}

}  // namespace
}  // namespace stoa::http::detail
