#pragma once
// Password hashing for the user service: argon2id (RFC 9106) stored as a PHC string,
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", so that each stored hash says how it was
// made and can be re-hashed when the parameters are raised.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/error.h"

namespace stoa::user {

// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
struct PasswordParams {
  std::uint32_t memory_kib = 19 * 1024;
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
  std::size_t salt_bytes = 16;
  std::size_t hash_bytes = 32;
};

// Longer passwords are refused, so that hashing cost stays bounded per request.
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// A PHC string of `password` with a fresh random salt. CPU- and memory-heavy (tens of
// milliseconds): call it off the network threads. Errc::invalid_argument for a password over
// kMaxPasswordBytes.
Result<std::string> hash_password(std::string_view password, const PasswordParams& params);

struct PasswordCheck {
  bool matches = false;
  bool needs_rehash = false;  // the stored hash used other parameters than `current`
};

// Compares in constant time. Errc::invalid_argument when `stored` is not an argon2id PHC
// string Stoa would have written (unknown version, parameters out of bounds).
Result<PasswordCheck> check_password(std::string_view password, std::string_view stored,
                                     const PasswordParams& current);

}  // namespace stoa::user
