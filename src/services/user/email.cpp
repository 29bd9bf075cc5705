#include "services/user/email.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <vector>

namespace stoa::user {
namespace {

enum class Form { nfc, nfkc_casefold };

Result<std::u16string> to_utf16(std::string_view input) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strFromUTF8(nullptr, 0, &length, input.data(), static_cast<int32_t>(input.size()), &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) {
    return Error{Errc::invalid_argument, "is not valid UTF-8"};
  }
  std::u16string out(static_cast<std::size_t>(length), u'\0');
  status = U_ZERO_ERROR;
  u_strFromUTF8(reinterpret_cast<UChar*>(out.data()), length, nullptr, input.data(),
                static_cast<int32_t>(input.size()), &status);
  if (U_FAILURE(status)) return Error{Errc::invalid_argument, "is not valid UTF-8"};
  return out;
}

Result<std::string> to_utf8(const std::u16string& input) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  const auto* data = reinterpret_cast<const UChar*>(input.data());
  u_strToUTF8(nullptr, 0, &length, data, static_cast<int32_t>(input.size()), &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) {
    return Error{Errc::invalid_argument, "cannot be encoded as UTF-8"};
  }
  std::string out(static_cast<std::size_t>(length), '\0');
  status = U_ZERO_ERROR;
  u_strToUTF8(out.data(), length, nullptr, data, static_cast<int32_t>(input.size()), &status);
  if (U_FAILURE(status)) return Error{Errc::invalid_argument, "cannot be encoded as UTF-8"};
  return out;
}

Result<std::u16string> normalize(const std::u16string& input, Form form) {
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* normalizer =
      form == Form::nfc ? unorm2_getNFCInstance(&status) : unorm2_getNFKCCasefoldInstance(&status);
  if (U_FAILURE(status)) return Error{Errc::internal, "ICU has no normalizer"};
  const auto* data = reinterpret_cast<const UChar*>(input.data());
  const auto size = static_cast<int32_t>(input.size());
  const int32_t length = unorm2_normalize(normalizer, data, size, nullptr, 0, &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) {
    return Error{Errc::invalid_argument, "cannot be normalized"};
  }
  std::u16string out(static_cast<std::size_t>(length), u'\0');
  status = U_ZERO_ERROR;
  unorm2_normalize(normalizer, data, size, reinterpret_cast<UChar*>(out.data()), length, &status);
  if (U_FAILURE(status)) return Error{Errc::invalid_argument, "cannot be normalized"};
  return out;
}

std::vector<UChar32> code_points(const std::u16string& text) {
  std::vector<UChar32> points;
  for (std::size_t i = 0; i < text.size();) {
    UChar32 c = 0;
    U16_NEXT(text.data(), i, text.size(), c);
    points.push_back(c);
  }
  return points;
}

// A domain label: letters and digits of any script, and inner hyphens.
bool valid_label(const std::vector<UChar32>& label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (UChar32 c : label) {
    if (c != '-' && !u_isalnum(c) && u_charType(c) != U_NON_SPACING_MARK &&
        u_charType(c) != U_COMBINING_SPACING_MARK) {
      return false;
    }
  }
  return true;
}

Status check_address(const std::u16string& nfc) {
  const auto points = code_points(nfc);
  std::size_t at = points.size();
  for (std::size_t i = 0; i < points.size(); ++i) {
    const UChar32 c = points[i];
    if (u_iscntrl(c) || u_isUWhiteSpace(c) || c == 0xFFFD) {
      return Error{Errc::invalid_argument, "holds a space or control character"};
    }
    if (c == '@') {
      if (at != points.size()) return Error{Errc::invalid_argument, "holds more than one '@'"};
      at = i;
    }
  }
  if (at == points.size()) return Error{Errc::invalid_argument, "has no '@'"};
  if (at == 0) return Error{Errc::invalid_argument, "has an empty local part"};
  for (std::size_t i = 0; i < at; ++i) {
    const UChar32 c = points[i];
    if (c == '"' || c == '(' || c == ')' || c == ',' || c == ':' || c == ';' || c == '<' ||
        c == '>' || c == '[' || c == ']' || c == '\\') {
      return Error{Errc::invalid_argument, "has a character its local part cannot hold"};
    }
  }
  if (points[0] == '.' || points[at - 1] == '.') {
    return Error{Errc::invalid_argument, "has a local part that starts or ends with '.'"};
  }
  std::vector<UChar32> label;
  std::size_t labels = 0;
  for (std::size_t i = at + 1; i <= points.size(); ++i) {
    if (i == points.size() || points[i] == '.') {
      if (!valid_label(label)) return Error{Errc::invalid_argument, "has an invalid domain"};
      ++labels;
      label.clear();
    } else {
      label.push_back(points[i]);
    }
  }
  if (labels < 2) return Error{Errc::invalid_argument, "has a domain without a dot"};
  return Ok{};
}

}  // namespace

Result<Email> normalize_email(std::string_view input) {
  if (input.empty()) return Error{Errc::invalid_argument, "email is empty"};
  if (input.size() > kMaxEmailBytes * 4) {
    return Error{Errc::invalid_argument, "email is longer than 254 bytes"};
  }
  auto wide = to_utf16(input);
  if (!wide) return Error{Errc::invalid_argument, "email " + wide.error().message};
  auto nfc = normalize(*wide, Form::nfc);
  if (!nfc) return Error{Errc::invalid_argument, "email " + nfc.error().message};
  auto checked = check_address(*nfc);
  if (!checked) return Error{Errc::invalid_argument, "email " + checked.error().message};
  auto folded = normalize(*nfc, Form::nfkc_casefold);
  if (!folded) return Error{Errc::invalid_argument, "email " + folded.error().message};
  // The folded form must still be an address: folding can map a character to '@' or a space
  // (full-width forms), which would make two different-looking addresses one key.
  auto folded_checked = check_address(*folded);
  if (!folded_checked) {
    return Error{Errc::invalid_argument, "email " + folded_checked.error().message};
  }
  Email email;
  auto address = to_utf8(*nfc);
  auto key = to_utf8(*folded);
  if (!address || !key) return Error{Errc::invalid_argument, "email cannot be encoded"};
  email.address = std::move(*address);
  email.key = std::move(*key);
  if (email.address.size() > kMaxEmailBytes || email.key.size() > kMaxEmailBytes) {
    return Error{Errc::invalid_argument, "email is longer than 254 bytes"};
  }
  if (email.address.find('@') > 64) {
    return Error{Errc::invalid_argument, "email has a local part longer than 64 bytes"};
  }
  return email;
}

Result<std::string> fold_text(std::string_view input) {
  auto wide = to_utf16(input);
  if (!wide) return wide.error();
  auto folded = normalize(*wide, Form::nfkc_casefold);
  if (!folded) return folded.error();
  return to_utf8(*folded);
}

}  // namespace stoa::user
