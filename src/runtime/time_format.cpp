#include "runtime/time_format.h"

#include <cstdint>

namespace stoa {

namespace {

using namespace std::chrono;

// Writes `value` as exactly `width` decimal digits.
void append_digits(std::string& out, long long value, int width) {
  char buffer[20];
  for (int i = width - 1; i >= 0; --i) {
    buffer[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buffer, static_cast<std::size_t>(width));
}

// "YYYY-MM-DDTHH:MM:SS" of the second that holds `time`.
void append_seconds(std::string& out, sys_seconds second) {
  const sys_days day = floor<days>(second);
  const year_month_day date(day);
  const hh_mm_ss<seconds> clock(second - day);
  append_digits(out, static_cast<int>(date.year()), 4);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(date.month()), 2);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(date.day()), 2);
  out.push_back('T');
  append_digits(out, clock.hours().count(), 2);
  out.push_back(':');
  append_digits(out, clock.minutes().count(), 2);
  out.push_back(':');
  append_digits(out, clock.seconds().count(), 2);
}

// The value of `count` digits at `text[at]`, or -1 when one is not a digit.
int digits(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return -1;
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

std::optional<system_clock::time_point> clock_time(sys_seconds time) {
  // With a nanosecond clock that is 1677 to 2262; a second is kept free at the top for a
  // fraction added afterwards.
  constexpr sys_seconds kFirst = ceil<seconds>(system_clock::time_point::min());
  constexpr sys_seconds kLast = floor<seconds>(system_clock::time_point::max()) - seconds(1);
  if (time < kFirst || time > kLast) return std::nullopt;
  return system_clock::time_point(time);
}

void append_rfc3339_ms(std::string& out, system_clock::time_point time) {
  const auto ms = floor<milliseconds>(time);
  const auto second = floor<seconds>(ms);
  // Formatting the date is the expensive part (logs write one a line); each thread
  // remembers its last second.
  thread_local sys_seconds cached_second = sys_seconds::min();
  thread_local std::string cached;
  if (second != cached_second) {
    cached.clear();
    append_seconds(cached, second);
    cached_second = second;
  }
  out += cached;
  out.push_back('.');
  append_digits(out, (ms - second).count(), 3);
  out.push_back('Z');
}

std::string rfc3339_ms(system_clock::time_point time) {
  std::string out;
  append_rfc3339_ms(out, time);
  return out;
}

std::string rfc3339_seconds(system_clock::time_point time) {
  std::string out;
  append_seconds(out, floor<seconds>(time));
  out.push_back('Z');
  return out;
}

std::optional<system_clock::time_point> parse_rfc3339(std::string_view t) {
  // full-date "T" partial-time time-offset
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') ||
      t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  const int y = digits(t, 0, 4), mo = digits(t, 5, 2), d = digits(t, 8, 2);
  const int h = digits(t, 11, 2), mi = digits(t, 14, 2), s = digits(t, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return std::nullopt;
  const year_month_day date{year(y), month(static_cast<unsigned>(mo)),
                            day(static_cast<unsigned>(d))};
  if (!date.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  sys_seconds time = sys_days(date) + hours(h) + minutes(mi) + seconds(s);
  nanoseconds fraction{0};
  std::size_t i = 19;
  if (t[i] == '.') {
    const std::size_t start = ++i;
    long long scale = 100'000'000;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      if (i - start == 9) return std::nullopt;
      fraction += nanoseconds((t[i] - '0') * scale);
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    if (i + 1 != t.size()) return std::nullopt;
  } else {
    if (i + 6 != t.size() || (t[i] != '+' && t[i] != '-') || t[i + 3] != ':') return std::nullopt;
    const int oh = digits(t, i + 1, 2), om = digits(t, i + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return std::nullopt;
    const minutes offset = hours(oh) + minutes(om);
    // Local time = UTC + offset, so UTC = local - offset.
    time = t[i] == '+' ? time - offset : time + offset;
  }
  auto utc = clock_time(time);
  if (!utc) return std::nullopt;
  return *utc + duration_cast<system_clock::duration>(fraction);
}

}  // namespace stoa
