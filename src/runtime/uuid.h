#pragma once
// UUIDs (RFC 9562). Stoa's identifiers are version 7: a millisecond timestamp first, so ids
// sort by creation and index well in a B-tree, then 74 random bits from the operating system's
// CSPRNG, so an id cannot be guessed from another.
#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stoa {

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};

  // A new version-7 UUID. Within one thread, ids are strictly increasing (a counter in the
  // rand_a bits orders ids of the same millisecond; RFC 9562 §6.2, method 1).
  static Uuid v7();
  // The canonical lowercase form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (upper case accepted).
  static std::optional<Uuid> parse(std::string_view text);

  std::string to_string() const;
  int version() const { return bytes[6] >> 4; }
  // The creation time of a version-7 UUID.
  std::chrono::system_clock::time_point v7_time() const;

  friend auto operator<=>(const Uuid&, const Uuid&) = default;
};

}  // namespace stoa
