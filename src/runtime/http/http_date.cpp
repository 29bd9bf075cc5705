#include "runtime/http/http_date.h"

#include <array>

#include "runtime/time_format.h"

namespace stoa::http {

namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void append_two(std::string& out, unsigned value) {
  out.push_back(static_cast<char>('0' + value / 10 % 10));
  out.push_back(static_cast<char>('0' + value % 10));
}

// A cursor over the field value; each take_* consumes what it matched or fails.
struct Reader {
  std::string_view text;

  bool literal(std::string_view expected) {
    if (!text.starts_with(expected)) return false;
    text.remove_prefix(expected.size());
    return true;
  }
  // Exactly `count` digits.
  std::optional<int> number(std::size_t count) {
    if (text.size() < count) return std::nullopt;
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    text.remove_prefix(count);
    return value;
  }
  template <std::size_t N>
  std::optional<int> name(const std::array<std::string_view, N>& names) {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(names[i])) return static_cast<int>(i);
    }
    return std::nullopt;
  }
  // time-of-day = hour ":" minute ":" second
  std::optional<seconds> time_of_day() {
    auto h = number(2);
    if (!h || !literal(":")) return std::nullopt;
    auto m = number(2);
    if (!m || !literal(":")) return std::nullopt;
    auto s = number(2);
    // second 60 is a leap second, which the grammar allows.
    if (!s || *h > 23 || *m > 59 || *s > 60) return std::nullopt;
    return hours(*h) + minutes(*m) + seconds(*s);
  }
};

std::optional<system_clock::time_point> at(int y, int month_index, int d, seconds time_of_day) {
  const year_month_day date{year(y), month(static_cast<unsigned>(month_index + 1)),
                            day(static_cast<unsigned>(d))};
  if (!date.ok()) return std::nullopt;
  return clock_time(sys_days(date) + time_of_day);
}

// The shape IMF-fixdate and rfc850-date share: day-name "," SP day SEP month SEP year SP
// time-of-day SP "GMT" (§5.6.7), the year as written.
struct GmtDate {
  int year_digits;
  int month_index;
  int day;
  seconds time_of_day;
};
template <std::size_t N>
std::optional<GmtDate> gmt_date(Reader r, const std::array<std::string_view, N>& day_names,
                                std::string_view separator, std::size_t year_digits) {
  if (!r.name(day_names) || !r.literal(", ")) return std::nullopt;
  auto d = r.number(2);
  if (!d || !r.literal(separator)) return std::nullopt;
  auto m = r.name(kMonths);
  if (!m || !r.literal(separator)) return std::nullopt;
  auto y = r.number(year_digits);
  if (!y || !r.literal(" ")) return std::nullopt;
  auto t = r.time_of_day();
  if (!t || !r.literal(" GMT") || !r.text.empty()) return std::nullopt;
  return GmtDate{*y, *m, *d, *t};
}

// IMF-fixdate: date1 = day SP month SP year (4 digits).
std::optional<system_clock::time_point> imf_fixdate(Reader r) {
  auto date = gmt_date(r, kDays, " ", 4);
  if (!date) return std::nullopt;
  return at(date->year_digits, date->month_index, date->day, date->time_of_day);
}

// rfc850-date: day-name-l; date2 = day "-" month "-" 2DIGIT.
std::optional<system_clock::time_point> rfc850_date(Reader r, system_clock::time_point now) {
  auto date = gmt_date(r, kLongDays, "-", 2);
  if (!date) return std::nullopt;
  // The most recent year in the past with these two digits, unless the one in this century
  // is no more than 50 years ahead.
  const int this_year = static_cast<int>(year_month_day(floor<days>(now)).year());
  int y = this_year - this_year % 100 + date->year_digits;
  if (y > this_year + 50) y -= 100;
  return at(y, date->month_index, date->day, date->time_of_day);
}

// asctime-date: day-name SP date3 SP time-of-day SP year; date3 = month SP (2DIGIT / SP DIGIT).
std::optional<system_clock::time_point> asctime_date(Reader r) {
  if (!r.name(kDays) || !r.literal(" ")) return std::nullopt;
  auto m = r.name(kMonths);
  if (!m || !r.literal(" ")) return std::nullopt;
  std::optional<int> d = r.literal(" ") ? r.number(1) : r.number(2);
  if (!d || !r.literal(" ")) return std::nullopt;
  auto t = r.time_of_day();
  if (!t || !r.literal(" ")) return std::nullopt;
  auto y = r.number(4);
  if (!y || !r.text.empty()) return std::nullopt;
  return at(*y, *m, *d, *t);
}

}  // namespace

void append_http_date(std::string& out, system_clock::time_point time) {
  const sys_seconds second = floor<seconds>(time);
  const sys_days day_point = floor<days>(second);
  const year_month_day date(day_point);
  const hh_mm_ss<seconds> clock(second - day_point);
  out += kDays[weekday(day_point).c_encoding()];
  out += ", ";
  append_two(out, static_cast<unsigned>(date.day()));
  out.push_back(' ');
  out += kMonths[static_cast<unsigned>(date.month()) - 1];
  out.push_back(' ');
  const auto y = static_cast<unsigned>(static_cast<int>(date.year()));
  append_two(out, y / 100);
  append_two(out, y % 100);
  out.push_back(' ');
  append_two(out, static_cast<unsigned>(clock.hours().count()));
  out.push_back(':');
  append_two(out, static_cast<unsigned>(clock.minutes().count()));
  out.push_back(':');
  append_two(out, static_cast<unsigned>(clock.seconds().count()));
  out += " GMT";
}

std::string format_http_date(system_clock::time_point time) {
  std::string out;
  out.reserve(29);
  append_http_date(out, time);
  return out;
}

std::optional<system_clock::time_point> parse_http_date(std::string_view text,
                                                        system_clock::time_point now) {
  if (auto t = imf_fixdate(Reader{text})) return t;
  if (auto t = rfc850_date(Reader{text}, now)) return t;
  return asctime_date(Reader{text});
}

std::optional<system_clock::time_point> parse_http_date(std::string_view text) {
  return parse_http_date(text, system_clock::now());
}

}  // namespace stoa::http
