// Value and Rows accessors, shared by every driver.
#include <stdexcept>

#include "data/sql/sql.h"

namespace stoa::sql {

const char* to_string(Dialect dialect) {
  return dialect == Dialect::sqlite ? "sqlite" : "postgresql";
}

std::int64_t Value::integer() const {
  return std::get<std::int64_t>(data_);
}

double Value::real() const {
  if (const auto* integer = std::get_if<std::int64_t>(&data_)) return static_cast<double>(*integer);
  return std::get<double>(data_);
}

bool Value::boolean() const {
  // SQLite has no boolean type: a BOOLEAN column reads back as 0 or 1.
  if (const auto* integer = std::get_if<std::int64_t>(&data_)) {
    if (*integer == 0 || *integer == 1) return *integer == 1;
    throw std::bad_variant_access();
  }
  return std::get<bool>(data_);
}

const std::string& Value::text() const {
  return std::get<std::string>(data_);
}

const Blob& Value::blob() const {
  return std::get<Blob>(data_);
}

std::optional<std::int64_t> Value::optional_integer() const {
  if (is_null()) return std::nullopt;
  return integer();
}

std::optional<std::string> Value::optional_text() const {
  if (is_null()) return std::nullopt;
  return text();
}

const Value& Rows::at(std::size_t row, std::string_view column) const {
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == column) return rows_.at(row).at(i);
  }
  throw std::out_of_range("the statement has no column " + quote_for_message(column));
}

}  // namespace stoa::sql
