#include "runtime/base64.h"

#include <gtest/gtest.h>

namespace stoa::base64 {
namespace {

TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg==");
  EXPECT_EQ(encode("fo"), "Zm8=");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(encode_url("f"), "Zg");
  EXPECT_EQ(encode_url("\xfb\xff"), "-_8");
  EXPECT_EQ(encode("\xfb\xff"), "+/8=");
}

TEST(Base64, RoundTripsEveryByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t n = 0; n < bytes.size(); n += 37) {
    const auto part = bytes.substr(0, n);
    EXPECT_EQ(decode(encode(part)), part);
    EXPECT_EQ(decode_url(encode_url(part)), part);
  }
}

TEST(Base64, DecodingIsStrict) {
  EXPECT_EQ(decode("Zg"), std::nullopt);          // padding missing
  EXPECT_EQ(decode_url("Zg=="), std::nullopt);    // padding in base64url
  EXPECT_EQ(decode_url("Zh"), std::nullopt);      // non-zero trailing bits
  EXPECT_EQ(decode_url("Z"), std::nullopt);       // impossible length
  EXPECT_EQ(decode_url("Zm9v+A"), std::nullopt);  // the other alphabet
  EXPECT_EQ(decode("Zm9v-A=="), std::nullopt);
  EXPECT_EQ(decode_url("Zm 9v"), std::nullopt);
  EXPECT_EQ(decode_url(std::string_view("Zm9v\0", 5)), std::nullopt);
}

}  // namespace
}  // namespace stoa::base64
