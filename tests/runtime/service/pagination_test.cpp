// Service kit: page sizes within bounds, and opaque cursors that a client cannot forge.
#include "runtime/service/pagination.h"

#include <gtest/gtest.h>

#include <string>

#include "runtime/base64.h"
#include "runtime/digest.h"

namespace stoa::service {
namespace {

http::Request with_query(std::string query) {
  http::Request request;
  request.query = std::move(query);
  return request;
}

const std::string kKey(32, 'k');

TEST(PageSize, DefaultsAndBounds) {
  const PageSize bounds{.default_size = 20, .max_size = 100};
  EXPECT_EQ(page_size(with_query(""), bounds).value(), 20u);
  EXPECT_EQ(page_size(with_query("limit=1"), bounds).value(), 1u);
  EXPECT_EQ(page_size(with_query("limit=100"), bounds).value(), 100u);
  for (const char* bad : {"limit=0", "limit=101", "limit=ten", "limit=", "limit=-1", "limit=5x"}) {
    auto refused = page_size(with_query(bad), bounds);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, Errc::invalid_argument);
    EXPECT_EQ(refused.error().message, "limit must be a whole number from 1 to 100");
  }
}

TEST(Cursor, RoundTripsAPosition) {
  CursorCodec codec(kKey);
  boost::json::object position{{"created_at", "2025-01-01T00:00:00Z"}, {"id", "u-7"}};
  const std::string cursor = codec.encode(position);
  // URL-safe as it is: no escaping needed in ?cursor=.
  EXPECT_EQ(
      cursor.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
      std::string::npos);
  auto decoded = codec.decode(cursor);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, position);

  auto from_query = cursor_param(with_query("cursor=" + cursor), codec);
  ASSERT_TRUE(from_query.ok());
  ASSERT_TRUE(from_query->has_value());
  EXPECT_EQ(**from_query, position);
  EXPECT_FALSE(cursor_param(with_query(""), codec).value().has_value()) << "the first page";
  EXPECT_FALSE(cursor_param(with_query("cursor="), codec).value().has_value());
}

TEST(Cursor, RefusesTamperedAndForeignCursors) {
  CursorCodec codec(kKey);
  const std::string cursor = codec.encode({{"id", "u-7"}});
  const auto dot = cursor.find('.');
  auto refused = [&](const std::string& text) {
    auto decoded = codec.decode(text);
    return !decoded.ok() && decoded.error().code == Errc::invalid_argument &&
           decoded.error().message == "cursor is not one this API returned";
  };
  // Another position with the old tag: the client moved the cursor.
  EXPECT_TRUE(refused(base64::encode_url(R"({"id":"u-1"})") + cursor.substr(dot)));
  // A flipped tag byte.
  std::string flipped = cursor;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_TRUE(refused(flipped));
  // Made with another key (another service, or before a key change).
  EXPECT_TRUE(refused(CursorCodec(std::string(32, 'o')).encode({{"id", "u-7"}})));
  for (const char* junk : {"", ".", "bogus", "a.b", "01890a5d-ac96-774b-bcce-b302099a8057"}) {
    EXPECT_TRUE(refused(junk)) << junk;
  }
  EXPECT_TRUE(refused(std::string(5000, 'A') + "." + cursor.substr(dot + 1)));
  // A correctly signed cursor that is not an object is still not a position.
  const std::string array = "[1]";
  EXPECT_TRUE(refused(base64::encode_url(array) + "." +
                      base64::encode_url(hmac_sha256(kKey, array).substr(0, 16))));
  EXPECT_FALSE(cursor_param(with_query("cursor=bogus"), codec).ok());
}

TEST(Cursor, KeysAreLongEnoughAndPositionsSmall) {
  EXPECT_THROW(CursorCodec(std::string(16, 'k')), std::invalid_argument);
  EXPECT_NO_THROW(CursorCodec(random_key(32)));
  CursorCodec codec(kKey);
  EXPECT_THROW(codec.encode({{"blob", std::string(600, 'x')}}), std::invalid_argument);
}

}  // namespace
}  // namespace stoa::service
