#include "data/objects/byte_source.h"

#include <algorithm>
#include <cstring>

namespace stoa::objects {

Awaitable<Result<std::size_t>> StringSource::read(std::span<char> out) {
  std::size_t n = std::min(out.size(), view_.size());
  std::memcpy(out.data(), view_.data(), n);
  view_.remove_prefix(n);
  co_return n;
}

Awaitable<Result<std::string>> read_all(ByteSource& source, std::size_t max_bytes) {
  std::string out;
  std::string chunk(64 * 1024, '\0');
  for (;;) {
    Result<std::size_t> n = co_await source.read(chunk);
    if (!n) co_return n.error();
    if (*n == 0) break;
    if (out.size() + *n > max_bytes) {
      co_return Error{Errc::too_large, "the body exceeds " + std::to_string(max_bytes) + " bytes"};
    }
    out.append(chunk.data(), *n);
  }
  co_return out;
}

}  // namespace stoa::objects
