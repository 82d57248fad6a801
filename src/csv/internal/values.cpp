#include "csv/internal/values.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace labvault::csv::internal {
namespace {

constexpr std::array<std::string_view, 6> kComparators = {">=", "<=", "<>", ">", "<", "="};
constexpr std::string_view kSeparators = "-+/.:";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of the longest HL7 NM prefix of `text` ([+|-]digits[.digits], at least one digit).
std::size_t number_prefix(std::string_view text) {
  std::size_t i = 0, digits = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  for (; i < text.size() && is_digit(text[i]); ++i) ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && is_digit(text[i]); ++i) ++digits;
  }
  return digits == 0 ? 0 : i;
}

std::optional<double> to_double(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    std::size_t at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

std::string_view take_comparator(std::string_view& text) {
  for (std::string_view c : kComparators) {
    if (text.starts_with(c)) {
      text.remove_prefix(c.size());
      return c;
    }
  }
  return {};
}

bool is_trigger(char c) {
  return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_hl7_number(std::string_view text) {
  return !text.empty() && number_prefix(text) == text.size();
}

std::optional<model::NumericValue> parse_numeric(std::string_view text) {
  if (!is_hl7_number(text)) return std::nullopt;
  auto value = to_double(text);
  if (!value) return std::nullopt;
  return model::NumericValue{std::string(text), *value};
}

std::optional<model::StructuredNumeric> parse_structured_numeric(std::string_view text) {
  model::StructuredNumeric sn;
  if (text.find('^') != std::string_view::npos) {
    auto parts = split(text, '^');
    parts.resize(std::max<std::size_t>(parts.size(), 4));
    if (parts.size() > 4) return std::nullopt;
    if (!parts[0].empty() && std::ranges::find(kComparators, parts[0]) == kComparators.end())
      return std::nullopt;
    if (!is_hl7_number(parts[1])) return std::nullopt;
    bool has_sep = !parts[2].empty();
    if (has_sep &&
        (parts[2].size() != 1 || kSeparators.find(parts[2][0]) == std::string_view::npos))
      return std::nullopt;
    if (has_sep != !parts[3].empty() || (has_sep && !is_hl7_number(parts[3]))) return std::nullopt;
    sn = {std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
          std::string(parts[3])};
    return sn;
  }
  std::string_view rest = text;
  sn.comparator = std::string(take_comparator(rest));
  if (!sn.comparator.empty()) rest = trim(rest);
  std::size_t n = number_prefix(rest);
  if (n == 0) return std::nullopt;
  sn.num1 = std::string(rest.substr(0, n));
  rest.remove_prefix(n);
  if (!rest.empty()) {
    if (kSeparators.find(rest.front()) == std::string_view::npos) return std::nullopt;
    sn.separator = std::string(1, rest.front());
    rest.remove_prefix(1);
    if (!is_hl7_number(rest)) return std::nullopt;
    sn.num2 = std::string(rest);
  }
  return sn;
}

std::string format_structured_numeric(const model::StructuredNumeric& sn) {
  // The compact spelling is what people expect in a sheet, but "1" "." "5" would read back as
  // the number 1.5, so fall back to HL7 components whenever compact is ambiguous.
  std::string compact = sn.comparator + sn.num1 + sn.separator + sn.num2;
  if (parse_structured_numeric(compact) == sn) return compact;
  std::string out = sn.comparator + "^" + sn.num1;
  if (!sn.separator.empty() || !sn.num2.empty()) out += "^" + sn.separator + "^" + sn.num2;
  return out;
}

model::CodeableConcept parse_coded_value(std::string_view text) {
  auto parts = split(text, '^');
  parts.resize(std::max<std::size_t>(parts.size(), 9));
  model::CodeableConcept cc;
  auto add = [&](std::size_t code, std::size_t display, std::size_t system, std::size_t version) {
    if (parts[code].empty() && parts[display].empty() && parts[system].empty() &&
        parts[version].empty())
      return;
    cc.codings.push_back(model::Coding{std::string(parts[code]), std::string(parts[display]),
                                       std::string(parts[system]), std::string(parts[version])});
  };
  add(0, 1, 2, 6);
  add(3, 4, 5, 7);
  cc.original_text = std::string(parts[8]);
  return cc;
}

std::string format_coded_value(const model::CodeableConcept& cc) {
  std::array<std::string, 9> parts;
  auto put = [&](const model::Coding& c, std::size_t code, std::size_t version) {
    parts[code] = c.code, parts[code + 1] = c.display, parts[code + 2] = c.system;
    parts[version] = c.version;
  };
  if (!cc.codings.empty()) put(cc.codings[0], 0, 6);
  if (cc.codings.size() > 1) put(cc.codings[1], 3, 7);
  parts[8] = cc.original_text;
  std::size_t used = parts.size();
  while (used > 0 && parts[used - 1].empty()) --used;
  std::string out;
  for (std::size_t i = 0; i < used; ++i) out += (i ? "^" : "") + parts[i];
  return out;
}

model::ReferenceRange parse_reference_range(std::string_view text) {
  model::ReferenceRange range{std::string(text), std::nullopt, std::nullopt};
  // A bound is a number followed by nothing or by a space and units ("<10 ug/dL").
  auto bound = [](std::string_view& s) -> std::optional<double> {
    s = trim(s);
    std::size_t n = number_prefix(s);
    if (n == 0) return std::nullopt;
    auto value = to_double(s.substr(0, n));
    s.remove_prefix(n);
    return value;
  };
  auto ends_cleanly = [](std::string_view s) { return s.empty() || s.front() == ' '; };
  std::string_view s = trim(text);
  if (s.starts_with('<') || s.starts_with('>')) {
    bool upper = s.front() == '<';
    s.remove_prefix(s.size() > 1 && s[1] == '=' ? 2 : 1);
    auto v = bound(s);
    if (v && ends_cleanly(s)) (upper ? range.high : range.low) = v;
    return range;
  }
  auto low = bound(s);
  s = trim(s);
  if (!low || !s.starts_with('-')) return range;
  s.remove_prefix(1);
  auto high = bound(s);
  if (high && ends_cleanly(s)) range.low = low, range.high = high;
  return range;
}

std::string format_reference_range(const model::ReferenceRange& range) {
  if (!range.text.empty()) return range.text;
  if (range.low && range.high) return fmt::format("{}-{}", *range.low, *range.high);
  if (range.high) return fmt::format("<={}", *range.high);
  if (range.low) return fmt::format(">={}", *range.low);
  return {};
}

std::vector<std::string> split_flags(std::string_view text) {
  std::vector<std::string> flags;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != '~' && text[i] != ';') continue;
    std::string_view flag = trim(text.substr(start, i - start));
    if (!flag.empty()) flags.emplace_back(flag);
    start = i + 1;
  }
  return flags;
}

bool needs_formula_guard(std::string_view cell) {
  if (cell.empty()) return false;
  if (is_trigger(cell.front())) return !is_hl7_number(cell);
  std::size_t quotes = cell.find_first_not_of('\'');
  return quotes != 0 && quotes != std::string_view::npos && is_trigger(cell[quotes]);
}

std::string_view strip_formula_guard(std::string_view cell) {
  std::size_t quotes = cell.find_first_not_of('\'');
  if (quotes != 0 && quotes != std::string_view::npos && is_trigger(cell[quotes]))
    cell.remove_prefix(1);
  return cell;
}

}  // namespace labvault::csv::internal
