#pragma once
// PostgreSQL results to the driver-independent types: rows decoded by column type, errors
// mapped by SQLSTATE, parameters encoded for libpq. Internal to the PostgreSQL driver.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/sql/sql.h"

struct pg_result;

namespace stoa::sql::pg {

// The rows (and affected count) of a successful result.
Result<Rows> decode_rows(const pg_result* result);

// The Error for a failed result of statement `name`. Messages name the statement and, for
// constraint violations, the constraint; never parameter values (PostgreSQL's DETAIL and
// its data-exception messages quote them, so those are left out).
Error error_from_result(const pg_result* result, std::string_view name);

// Parameters in the form PQsendQueryPrepared takes: text for everything but Blob (binary,
// so bytea needs no escaping). The pointers point into `storage` and the Params.
// Errc::invalid_argument for text with a NUL byte: libpq sends text parameters up to the
// first NUL (PostgreSQL text cannot hold one), which would cut the value silently.
struct EncodedParams {
  std::vector<std::string> storage;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
};
Status encode_params(const Params& params, EncodedParams& out);

// "16/B374D848" -> the 64-bit WAL position; nullopt when malformed.
std::optional<std::uint64_t> parse_lsn(std::string_view text);
std::string format_lsn(std::uint64_t lsn);

}  // namespace stoa::sql::pg
