#include "csv/internal/date_format.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>

namespace labvault::csv::internal {
namespace {

using model::DateTime;
using model::ErrorCode;
using P = DateTime::Precision;

constexpr std::string_view kDirectives = "YmdHMSfIpz";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The precision a directive fills; %p and %z fill none of their own.
P level(char directive) {
  switch (directive) {
    case 'Y':
      return P::kYear;
    case 'm':
      return P::kMonth;
    case 'd':
      return P::kDay;
    case 'H':
    case 'I':
      return P::kHour;
    case 'M':
      return P::kMinute;
    case 'S':
    case 'f':
      return P::kSecond;
    default:
      return P::kNone;
  }
}

// Reads between `min` and `max` digits at `pos`; nullopt when there are fewer than `min`.
std::optional<int> take_digits(std::string_view text, std::size_t& pos, std::size_t min,
                               std::size_t max) {
  std::size_t end = pos;
  while (end < text.size() && end - pos < max && is_digit(text[end])) ++end;
  if (end - pos < min) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < end; ++i) value = value * 10 + (text[i] - '0');
  pos = end;
  return value;
}

// Z, +hh, +hhmm or +hh:mm; the offset in minutes east of UTC.
std::optional<int> take_offset(std::string_view text, std::size_t& pos) {
  if (pos < text.size() && text[pos] == 'Z') {
    ++pos;
    return 0;
  }
  if (pos >= text.size() || (text[pos] != '+' && text[pos] != '-')) return std::nullopt;
  int sign = text[pos] == '-' ? -1 : 1;
  std::size_t p = pos + 1;
  auto hours = take_digits(text, p, 2, 2);
  if (!hours) return std::nullopt;
  int minutes = 0;
  if (p < text.size() && text[p] == ':') ++p;
  if (p < text.size()) {
    auto m = take_digits(text, p, 2, 2);
    if (!m || *m > 59) return std::nullopt;
    minutes = *m;
  }
  pos = p;
  return sign * (*hours * 60 + minutes);
}

std::string offset_text(int minutes, bool colon) {
  if (minutes == 0 && colon) return "Z";
  int a = std::abs(minutes);
  return fmt::format("{}{:02}{}{:02}", minutes < 0 ? '-' : '+', a / 60, colon ? ":" : "", a % 60);
}

}  // namespace

bool in_range(const DateTime& dt) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  auto leap = [](int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; };
  if (dt.precision >= P::kMonth && (dt.month < 1 || dt.month > 12)) return false;
  if (dt.precision >= P::kDay) {
    int days = dt.month == 2 && leap(dt.year) ? 29 : kDays[dt.month - 1];
    if (dt.day < 1 || dt.day > days) return false;
  }
  if (dt.precision >= P::kHour && (dt.hour < 0 || dt.hour > 23)) return false;
  if (dt.precision >= P::kMinute && (dt.minute < 0 || dt.minute > 59)) return false;
  if (dt.precision >= P::kSecond && (dt.second < 0 || dt.second > 60)) return false;
  if (dt.utc_offset_minutes && std::abs(*dt.utc_offset_minutes) > 14 * 60) return false;
  return true;
}

model::Result<DateFormat> DateFormat::compile(std::string_view spec) {
  DateFormat f;
  f.spec_ = std::string(spec);
  if (spec == "hl7") return f;
  if (spec == "iso") {
    f.kind_ = Kind::kIso;
    return f;
  }
  f.kind_ = Kind::kPattern;
  auto bad = [](std::string message) {
    return model::fail(ErrorCode::kConfig, std::move(message));
  };
  std::string seen;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] != '%' || (i + 1 < spec.size() && spec[i + 1] == '%')) {
      if (f.tokens_.empty() || f.tokens_.back().directive != 0) f.tokens_.emplace_back();
      f.tokens_.back().literal += spec[i];
      i += spec[i] == '%' ? 1 : 0;
      continue;
    }
    if (i + 1 == spec.size()) return bad("date_format ends with a lone %");
    char d = spec[++i];
    if (kDirectives.find(d) == std::string_view::npos) {
      return bad(fmt::format(
          "date_format has unsupported directive %{} (supported: %Y %m %d %H %M %S %f %I %p %z "
          "%%, or \"hl7\" or \"iso\")",
          d));
    }
    if (seen.find(d) != std::string::npos) return bad(fmt::format("date_format has %{} twice", d));
    seen += d;
    f.tokens_.push_back(Token{d, {}});
  }
  auto has = [&](char d) { return seen.find(d) != std::string::npos; };
  if (!has('Y')) return bad("date_format needs %Y (a four-digit year)");
  if (has('H') && has('I')) return bad("date_format has both %H and %I");
  if (has('I') != has('p')) return bad("date_format needs %I and %p together (12-hour clock)");
  // Precision comes from the directives present, so they must not skip a level: a pattern
  // with minutes but no hours could not say what time it is.
  constexpr std::string_view kChain[] = {"Y", "m", "d", "HI", "M", "S", "f"};
  for (std::size_t k = 1; k < std::size(kChain); ++k) {
    bool here = kChain[k].find_first_of(seen) != std::string_view::npos;
    bool before = kChain[k - 1].find_first_of(seen) != std::string_view::npos;
    if (here && !before) {
      return bad(fmt::format("date_format has %{} but no %{}", kChain[k][0], kChain[k - 1][0]));
    }
  }
  return f;
}

model::Error DateFormat::mismatch(std::string_view why) const {
  std::string message = fmt::format("date does not match date_format {}", spec_);
  if (!why.empty()) message += fmt::format(" ({})", why);
  return model::Error{ErrorCode::kDataType, std::move(message), {}};
}

model::Result<DateTime> DateFormat::parse(std::string_view text) const {
  if (text.empty()) return DateTime{};
  switch (kind_) {
    case Kind::kHl7: {
      auto dt = DateTime::parse_hl7(text);
      if (!dt) return std::unexpected(mismatch(dt.error().message));
      return dt;
    }
    case Kind::kIso:
      return parse_iso(text);
    case Kind::kPattern:
      return parse_pattern(text);
  }
  return std::unexpected(mismatch());
}

// ISO 8601 extended: YYYY[-MM[-DD[(T| )hh[:mm[:ss[.f]]][Z|+hh:mm]]]]. Unlike FHIR, the zone
// is optional: spreadsheet exports carry local times, and a missing zone must stay missing.
model::Result<DateTime> DateFormat::parse_iso(std::string_view text) const {
  DateTime dt;
  std::size_t pos = 0;
  auto part = [&](char sep, P precision, int& out, std::size_t width) {
    if (pos >= text.size()) return true;
    if (sep != 0 && text[pos] != sep) return false;
    pos += sep != 0 ? 1 : 0;
    auto v = take_digits(text, pos, width, width);
    if (!v) return false;
    out = *v;
    dt.precision = precision;
    return true;
  };
  bool ok = part(0, P::kYear, dt.year, 4) && part('-', P::kMonth, dt.month, 2) &&
            part('-', P::kDay, dt.day, 2);
  if (ok && pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return std::unexpected(mismatch());
    if (++pos == text.size()) return std::unexpected(mismatch());
    ok = part(0, P::kHour, dt.hour, 2);
    if (ok && pos < text.size() && text[pos] == ':') ok = part(':', P::kMinute, dt.minute, 2);
    if (ok && dt.precision == P::kMinute && pos < text.size() && text[pos] == ':')
      ok = part(':', P::kSecond, dt.second, 2);
    if (ok && dt.precision == P::kSecond && pos < text.size() && text[pos] == '.') {
      std::size_t start = ++pos;
      while (pos < text.size() && is_digit(text[pos])) ++pos;
      if (pos == start || pos - start > 9) return std::unexpected(mismatch());
      dt.fraction = std::string(text.substr(start, pos - start));
    }
    if (ok && pos < text.size()) {
      auto offset = take_offset(text, pos);
      if (!offset) return std::unexpected(mismatch());
      dt.utc_offset_minutes = offset;
    }
  }
  if (!ok || pos != text.size()) return std::unexpected(mismatch());
  if (!in_range(dt)) return std::unexpected(mismatch("a part is out of range"));
  return dt;
}

model::Result<DateTime> DateFormat::parse_pattern(std::string_view text) const {
  DateTime dt;
  std::string filled;  // directives read so far
  int hour12 = -1;
  std::optional<bool> pm;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    const Token& t = tokens_[i];
    // The cell may stop early: a birth date in a date-time column, a year-only date. What
    // was read must still be a contiguous precision from the year (checked below).
    if (pos == text.size() && i > 0) break;
    if (t.directive == 0) {
      if (text.substr(pos, t.literal.size()) != t.literal) return std::unexpected(mismatch());
      pos += t.literal.size();
      continue;
    }
    std::optional<int> v;
    switch (t.directive) {
      case 'Y':
        v = take_digits(text, pos, 4, 4), dt.year = v.value_or(0);
        break;
      case 'm':
        v = take_digits(text, pos, 1, 2), dt.month = v.value_or(0);
        break;
      case 'd':
        v = take_digits(text, pos, 1, 2), dt.day = v.value_or(0);
        break;
      case 'H':
        v = take_digits(text, pos, 1, 2), dt.hour = v.value_or(0);
        break;
      case 'I':
        v = take_digits(text, pos, 1, 2), hour12 = v.value_or(0);
        break;
      case 'M':
        v = take_digits(text, pos, 1, 2), dt.minute = v.value_or(0);
        break;
      case 'S':
        v = take_digits(text, pos, 1, 2), dt.second = v.value_or(0);
        break;
      case 'f': {
        std::size_t start = pos;
        while (pos < text.size() && is_digit(text[pos]) && pos - start < 9) ++pos;
        if (pos > start) v = 0, dt.fraction = std::string(text.substr(start, pos - start));
        break;
      }
      case 'p': {
        std::string_view ap = text.substr(pos, 2);
        bool am = ap == "AM" || ap == "am" || ap == "Am";
        bool p = ap == "PM" || ap == "pm" || ap == "Pm";
        if (am || p) v = 0, pm = p, pos += 2;
        break;
      }
      case 'z':
        if (auto offset = take_offset(text, pos)) v = 0, dt.utc_offset_minutes = offset;
        break;
    }
    if (!v) return std::unexpected(mismatch());
    filled += t.directive;
  }
  if (pos != text.size()) return std::unexpected(mismatch());
  if (hour12 >= 0) {
    if (!pm || hour12 < 1 || hour12 > 12) return std::unexpected(mismatch("12-hour time"));
    dt.hour = hour12 % 12 + (*pm ? 12 : 0);
  }
  constexpr std::string_view kChain[] = {"Y", "m", "d", "HI", "M", "S"};
  constexpr P kLevels[] = {P::kYear, P::kMonth, P::kDay, P::kHour, P::kMinute, P::kSecond};
  std::size_t reached = 0;
  while (reached < std::size(kChain) &&
         kChain[reached].find_first_of(filled) != std::string_view::npos)
    dt.precision = kLevels[reached++];
  for (std::size_t k = reached; k < std::size(kChain); ++k)
    if (kChain[k].find_first_of(filled) != std::string_view::npos)
      return std::unexpected(mismatch());
  if (!dt.fraction.empty() && dt.precision != P::kSecond) return std::unexpected(mismatch());
  if (!in_range(dt)) return std::unexpected(mismatch("a part is out of range"));
  return dt;
}

std::string DateFormat::format(const DateTime& dt) const {
  if (dt.empty()) return {};
  switch (kind_) {
    case Kind::kHl7:
      return dt.to_hl7();
    case Kind::kIso:
      return format_iso(dt);
    case Kind::kPattern:
      return format_pattern(dt);
  }
  return {};
}

std::string DateFormat::format_iso(const DateTime& dt) const {
  std::string out = fmt::format("{:04}", dt.year);
  if (dt.precision >= P::kMonth) out += fmt::format("-{:02}", dt.month);
  if (dt.precision >= P::kDay) out += fmt::format("-{:02}", dt.day);
  if (dt.precision >= P::kHour) {
    out += fmt::format("T{:02}", dt.hour);
    if (dt.precision >= P::kMinute) out += fmt::format(":{:02}", dt.minute);
    if (dt.precision >= P::kSecond) out += fmt::format(":{:02}", dt.second);
    if (dt.precision >= P::kSecond && !dt.fraction.empty()) out += "." + dt.fraction;
    if (dt.utc_offset_minutes) out += offset_text(*dt.utc_offset_minutes, true);
  }
  return out;
}

// Writes tokens until the first one the value cannot fill, so a day-precision date in a
// "%m/%d/%Y %H:%M" column is written "01/02/2024" and parse() reads it back as a day.
std::string DateFormat::format_pattern(const DateTime& dt) const {
  std::string out, pending;
  for (const Token& t : tokens_) {
    if (t.directive == 0) {
      pending += t.literal;
      continue;
    }
    P need = level(t.directive);
    if (t.directive == 'p') need = P::kHour;
    if (dt.precision < need) return out;
    std::string part;
    switch (t.directive) {
      case 'Y':
        part = fmt::format("{:04}", dt.year);
        break;
      case 'm':
        part = fmt::format("{:02}", dt.month);
        break;
      case 'd':
        part = fmt::format("{:02}", dt.day);
        break;
      case 'H':
        part = fmt::format("{:02}", dt.hour);
        break;
      case 'I':
        part = fmt::format("{:02}", dt.hour % 12 == 0 ? 12 : dt.hour % 12);
        break;
      case 'p':
        part = fmt::format("{}", dt.hour < 12 ? "AM" : "PM");
        break;
      case 'M':
        part = fmt::format("{:02}", dt.minute);
        break;
      case 'S':
        part = fmt::format("{:02}", dt.second);
        break;
      case 'f':
        if (dt.fraction.empty()) return out;
        part = dt.fraction;
        break;
      case 'z':
        if (!dt.utc_offset_minutes) return out;
        part = offset_text(*dt.utc_offset_minutes, false);
        break;
    }
    out += pending + part;
    pending.clear();
  }
  return out + pending;
}

}  // namespace labvault::csv::internal
