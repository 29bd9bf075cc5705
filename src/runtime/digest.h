#pragma once
// Message digests for checksums and identifiers (OpenSSL stays in the .cpp).
#include <string>
#include <string_view>

namespace stoa {

// SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace stoa
