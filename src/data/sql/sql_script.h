#pragma once
// Splits a SQL script (a migration file) into the statements the driver runs one by one.
#include <string>
#include <string_view>
#include <vector>

namespace stoa::sql {

// Splits on `;` outside quotes ('…', "…", `…`), comments (--, nested /* */), PostgreSQL
// dollar-quoting ($$…$$, $tag$…$tag$) and SQLite's CREATE TRIGGER … BEGIN … END. Statements
// are trimmed; empty ones and ones holding only comments are dropped.
std::vector<std::string> split_sql_script(std::string_view script);

}  // namespace stoa::sql
