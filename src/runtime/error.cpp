#include "runtime/error.h"

namespace stoa {

const char* to_string(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::timeout:
      return "timeout";
    case Errc::unavailable:
      return "unavailable";
    case Errc::too_large:
      return "too_large";
    case Errc::protocol:
      return "protocol";
    case Errc::io:
      return "io";
    case Errc::cancelled:
      return "cancelled";
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

}  // namespace stoa
