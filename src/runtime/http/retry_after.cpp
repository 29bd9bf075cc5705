#include "runtime/http/retry_after.h"

#include <charconv>
#include <cstdint>

#include "runtime/http/detail/field_syntax.h"
#include "runtime/http/http_date.h"

namespace stoa::http {

namespace {

constexpr std::chrono::seconds kMaxDelay{2147483648LL};

}  // namespace

std::string format_retry_after(std::chrono::milliseconds wait) {
  if (wait.count() < 0) return "0";
  return std::to_string(std::chrono::ceil<std::chrono::seconds>(wait).count());
}

std::string format_retry_after(std::chrono::system_clock::time_point when) {
  return format_http_date(when);
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view field,
                                                      std::chrono::system_clock::time_point now) {
  field = detail::trim_ows(field);
  if (!field.empty() && field.front() >= '0' && field.front() <= '9') {
    for (char c : field) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), n);
    if (ec == std::errc::result_out_of_range || n > static_cast<std::uint64_t>(kMaxDelay.count())) {
      return kMaxDelay;
    }
    return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(n));
  }
  auto date = parse_http_date(field, now);
  if (!date) return std::nullopt;
  if (*date <= now) return std::chrono::seconds(0);
  return std::chrono::ceil<std::chrono::seconds>(*date - now);
}

}  // namespace stoa::http
