#include "data/sql/postgresql/result.h"

#include <libpq-fe.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace stoa::sql::pg {

namespace {

// Type OIDs of pg_type that decode to something other than text.
constexpr Oid kBool = 16;
constexpr Oid kBytea = 17;
constexpr Oid kInt8 = 20;
constexpr Oid kInt2 = 21;
constexpr Oid kInt4 = 23;
constexpr Oid kOid = 26;
constexpr Oid kFloat4 = 700;
constexpr Oid kFloat8 = 701;
constexpr Oid kNumeric = 1700;

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

double parse_real(const char* text) {
  // PostgreSQL writes the special values as words; strtod reads "NaN" and "Infinity" too.
  return std::strtod(text, nullptr);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea in text results is hex ("\x0102"), the server's default bytea_output.
std::optional<std::string> decode_bytea(std::string_view text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string bytes;
  bytes.reserve((text.size() - 2) / 2);
  for (std::size_t i = 2; i < text.size(); i += 2) {
    int high = hex_digit(text[i]);
    int low = hex_digit(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes.push_back(static_cast<char>(high * 16 + low));
  }
  return bytes;
}

Result<Value> decode_value(Oid type, const char* text, int length) {
  const std::string_view view(text, static_cast<std::size_t>(length));
  switch (type) {
    case kBool:
      return Value(view == "t");
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid:
      if (auto integer = parse_integer(view)) return Value(*integer);
      break;
    case kFloat4:
    case kFloat8:
      return Value(parse_real(text));
    case kNumeric:
      // Money is integer minor units in Stoa, so numeric mostly comes from SUM(bigint): a
      // whole number that fits int64 is an integer, anything else a real.
      if (auto integer = parse_integer(view)) return Value(*integer);
      return Value(parse_real(text));
    case kBytea:
      if (auto bytes = decode_bytea(view)) return Value(Blob{std::move(*bytes)});
      break;
    default:
      return Value(std::string(view));  // text, varchar, and the rest in their text form
  }
  return Error{Errc::protocol, "cannot decode a value of type oid " + std::to_string(type)};
}

bool changes_rows(const char* command) {
  const std::string_view tag(command);
  return tag.starts_with("INSERT") || tag.starts_with("UPDATE") || tag.starts_with("DELETE") ||
         tag.starts_with("MERGE");
}

std::string field(const pg_result* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

Result<Rows> decode_rows(const pg_result* result) {
  auto* res = const_cast<PGresult*>(result);
  const int columns = PQnfields(res);
  const int count = PQntuples(res);
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(columns));
  std::vector<Oid> types;
  types.reserve(static_cast<std::size_t>(columns));
  for (int c = 0; c < columns; ++c) {
    names.emplace_back(PQfname(res, c));
    types.push_back(PQftype(res, c));
  }
  std::vector<std::vector<Value>> rows;
  rows.reserve(static_cast<std::size_t>(count));
  for (int r = 0; r < count; ++r) {
    std::vector<Value> row;
    row.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(res, r, c)) {
        row.emplace_back();
        continue;
      }
      auto value = decode_value(types[static_cast<std::size_t>(c)], PQgetvalue(res, r, c),
                                PQgetlength(res, r, c));
      if (!value) return value.error();
      row.push_back(std::move(value).value());
    }
    rows.push_back(std::move(row));
  }
  std::uint64_t affected = 0;
  if (changes_rows(PQcmdStatus(res))) {
    affected = parse_integer(PQcmdTuples(res)).value_or(0);
  }
  return Rows(std::move(names), std::move(rows), affected);
}

Error error_from_result(const pg_result* result, std::string_view name) {
  const std::string state = field(result, PG_DIAG_SQLSTATE);
  const std::string primary = field(result, PG_DIAG_MESSAGE_PRIMARY);
  const std::string where = "statement " + std::string(name);
  const std::string sqlstate = " (SQLSTATE " + (state.empty() ? std::string("none") : state) + ")";
  if (state.starts_with("23")) {
    std::string constraint = field(result, PG_DIAG_CONSTRAINT_NAME);
    std::string what = state == "23505"   ? "unique constraint"
                       : state == "23503" ? "foreign-key constraint"
                       : state == "23514" ? "check constraint"
                       : state == "23502" ? "not-null constraint"
                                          : "integrity constraint";
    if (constraint.empty() && state == "23502") {
      constraint = field(result, PG_DIAG_COLUMN_NAME);
    }
    return Error{Errc::conflict,
                 where + " violates " + what +
                     (constraint.empty() ? "" : " " + quote_for_message(constraint)) + sqlstate};
  }
  if (state == "40001" || state == "40P01") {
    return Error{Errc::aborted, where + ": " + primary + sqlstate};
  }
  if (state == "57014") {
    return Error{Errc::timeout, where + " was cancelled at its timeout" + sqlstate};
  }
  if (state.starts_with("22")) {
    // Data exceptions ("invalid input syntax for type integer: "abc"") quote the value.
    return Error{Errc::invalid_argument,
                 where + ": a parameter or value is invalid for its type" + sqlstate};
  }
  if (state.starts_with("42") || state == "08P01") {
    // Syntax and schema errors; 08P01 is a parameter count that does not match the SQL.
    return Error{Errc::invalid_argument, where + ": " + primary + sqlstate};
  }
  if (state.starts_with("08") || state.starts_with("57P") || state.starts_with("53")) {
    return Error{Errc::unavailable, where + ": " + primary + sqlstate};
  }
  if (state.starts_with("25")) {  // invalid transaction state, e.g. a write in READ ONLY
    return Error{Errc::invalid_argument, where + ": " + primary + sqlstate};
  }
  if (state.starts_with("P0")) {  // RAISE in a function: its text is the function's to choose
    return Error{Errc::conflict, where + ": raised an exception" + sqlstate};
  }
  if (state.empty()) {
    // libpq's own errors (a lost connection) carry no SQLSTATE.
    return Error{Errc::unavailable, where + ": " + primary};
  }
  return Error{Errc::internal, where + ": " + primary + sqlstate};
}

Status encode_params(const Params& params, EncodedParams& out) {
  out.storage.clear();
  out.storage.reserve(params.size());
  out.values.assign(params.size(), nullptr);
  out.lengths.assign(params.size(), 0);
  out.formats.assign(params.size(), 0);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Value::Data& data = params[i].data();
    std::string& text = out.storage.emplace_back();
    if (std::holds_alternative<std::monostate>(data)) continue;  // NULL: a null pointer
    if (const auto* integer = std::get_if<std::int64_t>(&data)) {
      text = std::to_string(*integer);
    } else if (const auto* real = std::get_if<double>(&data)) {
      if (std::isnan(*real)) {
        text = "NaN";
      } else if (std::isinf(*real)) {
        text = *real > 0 ? "Infinity" : "-Infinity";
      } else {
        char buffer[32];
        auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, *real);
        text.assign(buffer, ec == std::errc() ? end : buffer);
      }
    } else if (const auto* boolean = std::get_if<bool>(&data)) {
      text = *boolean ? "t" : "f";
    } else if (const auto* string = std::get_if<std::string>(&data)) {
      if (string->find('\0') != std::string::npos) {
        return Error{Errc::invalid_argument, "parameter $" + std::to_string(i + 1) +
                                                 " is text with a NUL byte (use a Blob)"};
      }
      out.values[i] = string->c_str();
      out.lengths[i] = static_cast<int>(string->size());
      continue;
    } else if (const auto* blob = std::get_if<Blob>(&data)) {
      out.values[i] = blob->bytes.data();
      out.lengths[i] = static_cast<int>(blob->bytes.size());
      out.formats[i] = 1;  // binary: bytea's binary form is the bytes themselves
      continue;
    }
    out.values[i] = text.c_str();
    out.lengths[i] = static_cast<int>(text.size());
  }
  // `storage` never reallocates after the reserve above, so the pointers stay valid.
  return Ok{};
}

std::optional<std::uint64_t> parse_lsn(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size()) {
    return std::nullopt;
  }
  std::uint32_t high = 0;
  std::uint32_t low = 0;
  auto first = std::from_chars(text.data(), text.data() + slash, high, 16);
  auto second = std::from_chars(text.data() + slash + 1, text.data() + text.size(), low, 16);
  if (first.ec != std::errc() || first.ptr != text.data() + slash || second.ec != std::errc() ||
      second.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return (static_cast<std::uint64_t>(high) << 32) | low;
}

std::string format_lsn(std::uint64_t lsn) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return buffer;
}

}  // namespace stoa::sql::pg
