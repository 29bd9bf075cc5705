#include "services/user/password.h"

#include <gtest/gtest.h>

namespace stoa::user {
namespace {

// Cheaper than OWASP's minimum, so the tests stay fast; the format and checks are the same.
PasswordParams fast() {
  PasswordParams params;
  params.memory_kib = 64;
  params.iterations = 1;
  return params;
}

TEST(Password, HashesToAPhcStringThatVerifies) {
  auto stored = hash_password("correct horse battery staple", fast());
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->starts_with("$argon2id$v=19$m=64,t=1,p=1$")) << *stored;
  auto good = check_password("correct horse battery staple", *stored, fast());
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->matches);
  EXPECT_FALSE(good->needs_rehash);
  EXPECT_FALSE(check_password("correct horse battery stapler", *stored, fast())->matches);
  EXPECT_FALSE(check_password("", *stored, fast())->matches);
}

TEST(Password, SaltsEveryHash) {
  EXPECT_NE(hash_password("same", fast()).value(), hash_password("same", fast()).value());
}

TEST(Password, OwaspDefaultsAndRehashWhenParametersChange) {
  const PasswordParams owasp;
  EXPECT_GE(owasp.memory_kib, 19u * 1024u);
  EXPECT_GE(owasp.iterations, 2u);
  auto stored = hash_password("pw", fast());
  auto check = check_password("pw", *stored, owasp);
  EXPECT_TRUE(check->matches);
  EXPECT_TRUE(check->needs_rehash);
}

TEST(Password, MatchesAKnownArgon2idVector) {
  // Made with the reference implementation's CLI (Debian package argon2):
  //   echo -n password | argon2 somesalt -id -t 2 -m 6 -p 1 -e
  const std::string stored =
      "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$FqGkmHNGCd0BRW2kBt6fPZ2pPmyGwwChL8FGUhTOSSI";
  PasswordParams params;
  params.memory_kib = 64;
  params.iterations = 2;
  params.salt_bytes = 8;
  auto check = check_password("password", stored, params);
  ASSERT_TRUE(check.ok()) << check.error().message;
  EXPECT_TRUE(check->matches);
  EXPECT_FALSE(check->needs_rehash);
}

TEST(Password, RefusesHostileStoredStringsAndHugePasswords) {
  for (const std::string bad :
       {"", "plain",
        "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=99999999,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=64,t=1000,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=64,t=1,p=1$!!$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=64,t=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=-1,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"}) {
    auto check = check_password("password", bad, fast());
    ASSERT_FALSE(check.ok()) << bad;
    EXPECT_EQ(check.error().code, Errc::invalid_argument);
  }
  EXPECT_EQ(hash_password(std::string(kMaxPasswordBytes + 1, 'x'), fast()).error().code,
            Errc::invalid_argument);
  auto stored = hash_password("pw", fast());
  EXPECT_FALSE(check_password(std::string(kMaxPasswordBytes + 1, 'x'), *stored, fast())->matches);
}

}  // namespace
}  // namespace stoa::user
