// Email addresses: what is one account (NFKC_Casefold keys) and what is not an address.
#include <gtest/gtest.h>

#include "services/user/email.h"

namespace stoa::user {
namespace {

std::string key_of(std::string_view input) {
  auto email = normalize_email(input);
  EXPECT_TRUE(email.ok()) << input << ": " << (email.ok() ? "" : email.error().message);
  return email.ok() ? email->key : std::string();
}

TEST(Email, CaseAndCompatibilityFormsAreOneKey) {
  const std::string key = key_of("ab@example.com");
  EXPECT_EQ(key_of("Ab@Example.COM"), key);
  EXPECT_EQ(key_of("AB@EXAMPLE.COM"), key);
  EXPECT_EQ(key_of("\xEF\xBD\x81\xEF\xBD\x82@example.com"), key);  // full-width "ａｂ"
  // German sharp s folds to "ss"; the Kelvin sign to "k".
  EXPECT_EQ(key_of("stra\xC3\x9F"
                   "e@example.com"),
            key_of("STRASSE@example.com"));
  EXPECT_EQ(key_of("\xE2\x84\xAA@example.com"), key_of("k@example.com"));
}

TEST(Email, KeepsTheAddressAsTypedInNfc) {
  // "é" as e + combining acute becomes the one code point U+00E9.
  auto email = normalize_email("Ren\x65\xCC\x81@Example.com");
  ASSERT_TRUE(email.ok());
  EXPECT_EQ(email->address, "Ren\xC3\xA9@Example.com");
  EXPECT_EQ(email->key, "ren\xC3\xA9@example.com");
}

TEST(Email, InternationalDomainsAndLocalParts) {
  EXPECT_TRUE(normalize_email("\xE7\x94\xA8\xE6\x88\xB7@\xE4\xBE\x8B\xE5\xAD\x90.\xE5\xB9\xBF"
                              "\xE5\x91\x8A")
                  .ok());  // 用户@例子.广告
  EXPECT_TRUE(normalize_email("first.last+tag@sub.example.co.uk").ok());
}

TEST(Email, RefusesWhatIsNotAnAddress) {
  for (const char* bad :
       {"", "plain", "@example.com", "a@", "a@@example.com", "a@b@example.com", "a b@example.com",
        "a@example", "a@-example.com", "a@example-.com", "a@exa_mple.com", ".a@example.com",
        "a.@example.com", "a\x01@example.com", "a@example..com", "\"quoted\"@example.com",
        "a@[127.0.0.1]", "a\xE2\x80\xA8@example.com"}) {
    auto email = normalize_email(bad);
    EXPECT_FALSE(email.ok()) << bad;
    if (!email.ok()) {
      EXPECT_EQ(email.error().code, Errc::invalid_argument) << bad;
    }
  }
}

TEST(Email, RefusesInvalidUtf8AndOverlongAddresses) {
  EXPECT_FALSE(normalize_email("a\xFF@example.com").ok());
  EXPECT_FALSE(normalize_email("a\xC3@example.com").ok());
  EXPECT_FALSE(normalize_email(std::string(65, 'a') + "@example.com").ok());
  EXPECT_FALSE(normalize_email("a@" + std::string(250, 'b') + ".com").ok());
  EXPECT_TRUE(normalize_email(std::string(64, 'a') + "@example.com").ok());
}

TEST(Email, FullWidthAtSignDoesNotMakeASecondAddress) {
  // "＠" (U+FF20) folds to '@': "a＠b@example.com" would fold to two '@'s.
  EXPECT_FALSE(normalize_email("a\xEF\xBC\xA0"
                               "b@example.com")
                   .ok());
}

}  // namespace
}  // namespace stoa::user
