// The PostgreSQL driver's server-free parts: WAL positions and parameter encoding.
#include <gtest/gtest.h>

#include "data/sql/postgresql/result.h"

namespace stoa::sql::pg {
namespace {

TEST(PostgresqlLsn, ParsesAndFormatsWalPositions) {
  EXPECT_EQ(parse_lsn("0/0"), 0u);
  EXPECT_EQ(parse_lsn("16/B374D848"), (std::uint64_t{0x16} << 32) | 0xB374D848u);
  EXPECT_EQ(parse_lsn("FFFFFFFF/FFFFFFFF"), ~std::uint64_t{0});
  EXPECT_EQ(format_lsn(*parse_lsn("16/B374D848")), "16/B374D848");
  EXPECT_LT(*parse_lsn("0/FFFFFFFF"), *parse_lsn("1/0"));  // ordered as numbers, not text
  for (const char* bad : {"", "/", "1/", "/1", "12", "1/2/3", "G/1", "1/ 2", "100000000/0"}) {
    EXPECT_FALSE(parse_lsn(bad)) << bad;
  }
}

TEST(PostgresqlParams, EncodesEachTypeAndRefusesNulInText) {
  EncodedParams out;
  Params params{Value(), 42, -1.5, true, "text", Blob{std::string("\0\1", 2)}};
  ASSERT_TRUE(encode_params(params, out));
  ASSERT_EQ(out.values.size(), params.size());
  EXPECT_EQ(out.values[0], nullptr);  // NULL
  EXPECT_EQ(std::string(out.values[1], out.lengths[1]), "42");
  EXPECT_EQ(std::string(out.values[2], out.lengths[2]), "-1.5");
  EXPECT_EQ(std::string(out.values[3], out.lengths[3]), "t");
  EXPECT_EQ(std::string(out.values[4], out.lengths[4]), "text");
  EXPECT_EQ(out.formats[4], 0);
  EXPECT_EQ(std::string(out.values[5], out.lengths[5]), std::string("\0\1", 2));
  EXPECT_EQ(out.formats[5], 1);  // bytea in binary

  auto refused = encode_params({std::string("a\0b", 3)}, out);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_argument);
  EXPECT_EQ(refused.error().message.find(std::string("a\0b", 3)), std::string::npos);
}

}  // namespace
}  // namespace stoa::sql::pg
