#include "runtime/uuid.h"

#include <openssl/rand.h>

#include <stdexcept>

#include "runtime/hex.h"

namespace stoa {

namespace {

// Random bytes from OpenSSL's CSPRNG, fetched 4 KiB at a time per thread.
void random_bytes(std::uint8_t* out, std::size_t n) {
  thread_local std::array<std::uint8_t, 4096> pool;
  thread_local std::size_t used = pool.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (used == pool.size()) {
      if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) {
        throw std::runtime_error("the system's random number generator failed");
      }
      used = 0;
    }
    out[i] = pool[used++];
  }
}

}  // namespace

Uuid Uuid::v7() {
  thread_local std::uint64_t last_ms = 0;
  thread_local std::uint16_t counter = 0;  // 12 bits
  auto now_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
  Uuid id;
  random_bytes(id.bytes.data() + 6, 10);
  if (now_ms > last_ms) {
    last_ms = now_ms;
    // A random start in the lower half leaves room to count up within the millisecond.
    counter = static_cast<std::uint16_t>(((id.bytes[6] << 8) | id.bytes[7]) & 0x07ff);
  } else if (++counter > 0x0fff) {
    // More than ~2000 ids in one millisecond (or the clock stepped back): borrow the next
    // millisecond, as RFC 9562 allows, so the order still holds.
    ++last_ms;
    counter = 0;
  }
  for (int i = 0; i < 6; ++i) id.bytes[i] = static_cast<std::uint8_t>(last_ms >> (40 - 8 * i));
  id.bytes[6] = static_cast<std::uint8_t>(0x70 | (counter >> 8));
  id.bytes[7] = static_cast<std::uint8_t>(counter & 0xff);
  id.bytes[8] = static_cast<std::uint8_t>(0x80 | (id.bytes[8] & 0x3f));  // variant 10
  return id;
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid id;
  std::size_t out = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int high = hex_value(text[i]);
    const int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    id.bytes[out++] = static_cast<std::uint8_t>((high << 4) | low);
    i += 2;
  }
  return id;
}

std::string Uuid::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0x0f];
  }
  return out;
}

std::chrono::system_clock::time_point Uuid::v7_time() const {
  std::uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | bytes[i];
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace stoa
