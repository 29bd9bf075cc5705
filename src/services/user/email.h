#pragma once
// Email addresses as the user service stores them. An address is unique case-insensitively
// after Unicode normalization: its key is the NFKC_Casefold form (ICU), so "Ab@Example.COM",
// "ab@example.com" and a full-width "ａｂ@example.com" are one account. The database enforces
// it with a unique index on the key; the address itself is kept in NFC, as the user typed it.
#include <string>
#include <string_view>

#include "runtime/error.h"

namespace stoa::user {

struct Email {
  std::string address;  // NFC, for display and mail
  std::string key;      // NFKC_Casefold, unique
};

// RFC 5321's limits: the whole address at most 254 bytes, the local part 64. The check is
// deliberately simple (no quoted local parts, no IP-literal domains): local@domain, where
// the domain has at least two dot-separated labels of letters, digits and hyphens (any
// script), and neither part holds spaces, control characters or a second '@'.
inline constexpr std::size_t kMaxEmailBytes = 254;

// Errc::invalid_argument, saying what is wrong, for an address that is not valid UTF-8 or
// not an address.
Result<Email> normalize_email(std::string_view input);

// NFKC_Casefold of any UTF-8 text (a search query, a display name's search key).
Result<std::string> fold_text(std::string_view input);

}  // namespace stoa::user
