#include "services/user/password.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <charconv>
#include <optional>
#include <vector>

#include "runtime/base64.h"

namespace stoa::user {

namespace {

// Bounds on what a stored hash may ask for: a hostile or corrupt row must not make one login
// allocate gigabytes or run for minutes.
constexpr std::uint32_t kMaxMemoryKib = 1024 * 1024;  // 1 GiB
constexpr std::uint32_t kMaxIterations = 64;
constexpr std::uint32_t kMaxParallelism = 16;
constexpr std::size_t kMaxEncodedBytes = 512;

// PHC strings use standard base64 without padding.
std::string encode_unpadded(std::string_view bytes) {
  std::string text = base64::encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

std::optional<std::string> decode_unpadded(std::string_view text) {
  if (text.find('=') != std::string_view::npos) return std::nullopt;
  std::string padded(text);
  while (padded.size() % 4 != 0) padded += '=';
  return base64::decode(padded);
}

struct Parsed {
  PasswordParams params;
  std::string salt;
  std::string hash;
};

std::optional<std::uint32_t> number(std::string_view text) {
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    const auto at = text.find(separator, start);
    parts.push_back(text.substr(start, at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

std::optional<Parsed> parse(std::string_view stored) {
  if (stored.size() > kMaxEncodedBytes) return std::nullopt;
  const auto parts = split(stored, '$');  // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
  if (parts.size() != 6 || !parts[0].empty() || parts[1] != "argon2id" || parts[2] != "v=19") {
    return std::nullopt;
  }
  const auto settings = split(parts[3], ',');
  if (settings.size() != 3 || !settings[0].starts_with("m=") || !settings[1].starts_with("t=") ||
      !settings[2].starts_with("p=")) {
    return std::nullopt;
  }
  auto memory = number(settings[0].substr(2));
  auto iterations = number(settings[1].substr(2));
  auto parallelism = number(settings[2].substr(2));
  auto salt = decode_unpadded(parts[4]);
  auto hash = decode_unpadded(parts[5]);
  if (!memory || !iterations || !parallelism || !salt || !hash) return std::nullopt;
  if (*memory > kMaxMemoryKib || *iterations < 1 || *iterations > kMaxIterations ||
      *parallelism < 1 || *parallelism > kMaxParallelism || *memory < 8 * *parallelism ||
      salt->size() < 8 || hash->size() < 16 || hash->size() > 64) {
    return std::nullopt;
  }
  Parsed parsed;
  parsed.params.memory_kib = *memory;
  parsed.params.iterations = *iterations;
  parsed.params.parallelism = *parallelism;
  parsed.params.salt_bytes = salt->size();
  parsed.params.hash_bytes = hash->size();
  parsed.salt = std::move(*salt);
  parsed.hash = std::move(*hash);
  return parsed;
}

Result<std::string> raw_hash(std::string_view password, const std::string& salt,
                             const PasswordParams& params) {
  std::string out(params.hash_bytes, '\0');
  const int rc =
      argon2id_hash_raw(params.iterations, params.memory_kib, params.parallelism, password.data(),
                        password.size(), salt.data(), salt.size(), out.data(), out.size());
  if (rc != ARGON2_OK) {
    return Error{Errc::internal, std::string("argon2id failed: ") + argon2_error_message(rc)};
  }
  return out;
}

}  // namespace

Result<std::string> hash_password(std::string_view password, const PasswordParams& params) {
  if (password.size() > kMaxPasswordBytes) {
    return Error{Errc::invalid_argument,
                 "a password may be at most " + std::to_string(kMaxPasswordBytes) + " bytes"};
  }
  std::string salt(params.salt_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
      1) {
    return Error{Errc::internal, "the system's random number generator failed"};
  }
  auto hash = raw_hash(password, salt, params);
  if (!hash) return hash.error();
  return "$argon2id$v=19$m=" + std::to_string(params.memory_kib) +
         ",t=" + std::to_string(params.iterations) + ",p=" + std::to_string(params.parallelism) +
         "$" + encode_unpadded(salt) + "$" + encode_unpadded(*hash);
}

Result<PasswordCheck> check_password(std::string_view password, std::string_view stored,
                                     const PasswordParams& current) {
  if (password.size() > kMaxPasswordBytes) return PasswordCheck{};  // could never have been set
  auto parsed = parse(stored);
  if (!parsed) {
    return Error{Errc::invalid_argument, "the stored password hash is not an argon2id PHC string"};
  }
  auto hash = raw_hash(password, parsed->salt, parsed->params);
  if (!hash) return hash.error();
  PasswordCheck check;
  check.matches = CRYPTO_memcmp(hash->data(), parsed->hash.data(), hash->size()) == 0;
  const auto& used = parsed->params;
  check.needs_rehash =
      used.memory_kib != current.memory_kib || used.iterations != current.iterations ||
      used.parallelism != current.parallelism || used.salt_bytes != current.salt_bytes ||
      used.hash_bytes != current.hash_bytes;
  return check;
}

}  // namespace stoa::user
