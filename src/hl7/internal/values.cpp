#include "hl7/internal/values.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace labvault::hl7::internal {

bool is_number(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  bool digit = false, dot = false;
  for (char c : s) {
    if (c >= '0' && c <= '9')
      digit = true;
    else if (c == '.' && !dot)
      dot = true;
    else
      return false;
  }
  return digit;
}

double to_double(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  // Clinger's fast path: up to 15 significant digits and 22 decimals, mantissa / 10^k is exact
  // in binary64 and correctly rounded, so lab values skip the general (slow) conversion.
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  bool negative = !s.empty() && s[0] == '-';
  std::string_view digits = negative ? s.substr(1) : s;
  uint64_t mantissa = 0;
  int count = 0, scale = 0;
  bool dot = false, fast = !digits.empty();
  for (char c : digits) {
    if (c == '.') {
      dot = true;
    } else if (++count > 15) {
      fast = false;
      break;
    } else {
      mantissa = mantissa * 10 + static_cast<uint64_t>(c - '0');
      scale += dot;
    }
  }
  if (fast) {
    double v = static_cast<double>(mantissa) / kPow10[scale];
    return negative ? -v : v;
  }
  double v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

model::ReferenceRange read_range(std::string text) {
  model::ReferenceRange r;
  r.text = std::move(text);
  std::string_view t = r.text;
  if (t.starts_with('<') || t.starts_with('>')) {
    std::string_view rest = t.substr(t.size() > 1 && t[1] == '=' ? 2 : 1);
    if (is_number(rest)) (t[0] == '<' ? r.high : r.low) = to_double(rest);
    return r;
  }
  size_t dash = t.find('-', t.starts_with('-') ? 1 : 0);
  if (dash != std::string_view::npos && is_number(t.substr(0, dash)) &&
      is_number(t.substr(dash + 1))) {
    r.low = to_double(t.substr(0, dash));
    r.high = to_double(t.substr(dash + 1));
  }
  return r;
}

model::ReportStatus report_status(std::string_view code,
                                  const std::vector<model::Observation>& obs) {
  using RS = model::ReportStatus;
  if (auto status = model::report_status_from_hl7(code)) return *status;
  // No OBR-25: derive from the results, the way a reader of the message would.
  if (obs.empty()) return RS::kRegistered;
  using S = model::ResultStatus;
  if (std::ranges::any_of(obs, [](auto& o) { return o.status == S::kCorrected; }))
    return RS::kCorrected;
  if (std::ranges::all_of(
          obs, [](auto& o) { return o.status == S::kFinal || o.status == S::kFinalUnchanged; }))
    return RS::kFinal;
  return RS::kPreliminary;
}

}  // namespace labvault::hl7::internal
