#pragma once
// A pull stream of bytes: object bodies move through the store in chunks, so that a large
// object never has to sit in memory whole.
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "runtime/async.h"
#include "runtime/error.h"

namespace stoa::objects {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to out.size() bytes into out; 0 means the end. An Error when the stream broke
  // (the peer went away, the body was malformed, a checksum did not match).
  virtual Awaitable<Result<std::size_t>> read(std::span<char> out) = 0;
};

// The bytes of a string (or a view of bytes that outlives the source).
class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string bytes) : owned_(std::move(bytes)), view_(owned_) {}
  static StringSource view(std::string_view bytes) { return StringSource(bytes, 0); }
  Awaitable<Result<std::size_t>> read(std::span<char> out) override;

 private:
  StringSource(std::string_view bytes, int) : view_(bytes) {}
  std::string owned_;
  std::string_view view_;
};

// Reads a whole source into a string, failing with Errc::too_large past `max_bytes`.
Awaitable<Result<std::string>> read_all(ByteSource& source, std::size_t max_bytes);

}  // namespace stoa::objects
