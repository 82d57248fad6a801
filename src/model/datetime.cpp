#include "model/datetime.hpp"

#include <fmt/format.h>

namespace labvault::model {
namespace {

bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int to_int(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Checks ranges shared by both syntaxes; `what` names the format for the message.
Result<DateTime> check(DateTime dt, std::string_view what) {
  using P = DateTime::Precision;
  auto bad = [&](std::string_view part) {
    return fail(ErrorCode::kDataType, fmt::format("{} out of range in {}", part, what));
  };
  if (dt.precision >= P::kMonth && (dt.month < 1 || dt.month > 12)) return bad("month");
  if (dt.precision >= P::kDay && (dt.day < 1 || dt.day > days_in_month(dt.year, dt.month)))
    return bad("day");
  if (dt.precision >= P::kHour && dt.hour > 23) return bad("hour");
  if (dt.precision >= P::kMinute && dt.minute > 59) return bad("minute");
  if (dt.precision >= P::kSecond && dt.second > 60) return bad("second");
  if (dt.utc_offset_minutes &&
      (*dt.utc_offset_minutes > 14 * 60 || *dt.utc_offset_minutes < -14 * 60))
    return bad("UTC offset");
  return dt;
}

}  // namespace

Result<DateTime> DateTime::parse_hl7(std::string_view text) {
  DateTime dt;
  if (text.empty()) return dt;
  constexpr std::string_view kWhat = "HL7 DTM (expected YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ])";
  auto bad = [&] { return fail(ErrorCode::kDataType, fmt::format("not a valid {}", kWhat)); };
  // One pass (every result carries several timestamps): digits, then [.fraction], then [zone].
  const char* p = text.data();
  const size_t n = text.size();
  auto digit = [&](size_t k) { return k < n && p[k] >= '0' && p[k] <= '9'; };
  auto two = [&](size_t k) { return (p[k] - '0') * 10 + (p[k + 1] - '0'); };
  size_t i = 0;
  while (i < 14 && digit(i)) ++i;
  const size_t date_digits = i;
  if (date_digits < 4 || date_digits % 2 != 0) return bad();
  if (i < n && p[i] == '.') {
    const size_t start = ++i;
    while (i - start < 4 && digit(i)) ++i;
    if (date_digits != 14 || i == start) return bad();
    dt.fraction.assign(p + start, i - start);
  }
  if (i < n && (p[i] == '+' || p[i] == '-')) {
    if (n - i != 5 || !digit(i + 1) || !digit(i + 2) || !digit(i + 3) || !digit(i + 4))
      return bad();
    if (two(i + 3) > 59) return bad();
    const int minutes = two(i + 1) * 60 + two(i + 3);
    dt.utc_offset_minutes = p[i] == '-' ? -minutes : minutes;
    i = n;
  }
  if (i != n) return bad();
  dt.year = two(0) * 100 + two(2);
  if (date_digits >= 6) dt.month = two(4);
  if (date_digits >= 8) dt.day = two(6);
  if (date_digits >= 10) dt.hour = two(8);
  if (date_digits >= 12) dt.minute = two(10);
  if (date_digits >= 14) dt.second = two(12);
  static constexpr Precision kBySize[] = {Precision::kYear, Precision::kMonth,  Precision::kDay,
                                          Precision::kHour, Precision::kMinute, Precision::kSecond};
  dt.precision = kBySize[(date_digits - 4) / 2];
  return check(std::move(dt), kWhat);
}

std::string DateTime::to_hl7() const {
  if (empty()) return {};
  std::string out = fmt::format("{:04}", year);
  if (precision >= Precision::kMonth) out += fmt::format("{:02}", month);
  if (precision >= Precision::kDay) out += fmt::format("{:02}", day);
  if (precision >= Precision::kHour) out += fmt::format("{:02}", hour);
  if (precision >= Precision::kMinute) out += fmt::format("{:02}", minute);
  if (precision >= Precision::kSecond) out += fmt::format("{:02}", second);
  if (!fraction.empty()) out += "." + fraction;
  if (utc_offset_minutes) {
    int m = *utc_offset_minutes;
    out += fmt::format("{}{:02}{:02}", m < 0 ? '-' : '+', std::abs(m) / 60, std::abs(m) % 60);
  }
  return out;
}

Result<DateTime> DateTime::parse_iso(std::string_view text) {
  DateTime dt;
  constexpr std::string_view kWhat =
      "FHIR dateTime (expected YYYY[-MM[-DD[Thh:mm:ss[.f](Z|+hh:mm)]]])";
  auto bad = [&] { return fail(ErrorCode::kDataType, fmt::format("not a valid {}", kWhat)); };
  auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > text.size() || !all_digits(text.substr(pos, n))) return std::nullopt;
    return to_int(text.substr(pos, n));
  };
  auto y = digits(0, 4);
  if (!y) return bad();
  dt.year = *y;
  dt.precision = Precision::kYear;
  size_t pos = 4;
  if (pos < text.size()) {
    auto m = text[pos] == '-' ? digits(pos + 1, 2) : std::nullopt;
    if (!m) return bad();
    dt.month = *m, dt.precision = Precision::kMonth, pos += 3;
  }
  if (pos < text.size()) {
    auto d = text[pos] == '-' ? digits(pos + 1, 2) : std::nullopt;
    if (!d) return bad();
    dt.day = *d, dt.precision = Precision::kDay, pos += 3;
  }
  if (pos < text.size()) {
    if (text[pos] != 'T') return bad();
    auto h = digits(pos + 1, 2);
    auto mi = pos + 3 < text.size() && text[pos + 3] == ':' ? digits(pos + 4, 2) : std::nullopt;
    if (!h || !mi) return bad();
    dt.hour = *h, dt.minute = *mi, dt.precision = Precision::kMinute, pos += 6;
    if (pos < text.size() && text[pos] == ':') {
      auto s = digits(pos + 1, 2);
      if (!s) return bad();
      dt.second = *s, dt.precision = Precision::kSecond, pos += 3;
      if (pos < text.size() && text[pos] == '.') {
        size_t end = pos + 1;
        while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
        if (end == pos + 1) return bad();
        dt.fraction = std::string(text.substr(pos + 1, end - pos - 1));
        pos = end;
      }
    }
    if (pos >= text.size()) return bad();  // FHIR: a time needs a zone
    if (text[pos] == 'Z') {
      dt.utc_offset_minutes = 0;
      ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
      auto zh = digits(pos + 1, 2);
      auto zm = pos + 3 < text.size() && text[pos + 3] == ':' ? digits(pos + 4, 2) : std::nullopt;
      if (!zh || !zm || *zm > 59) return bad();
      int minutes = *zh * 60 + *zm;
      dt.utc_offset_minutes = text[pos] == '-' ? -minutes : minutes;
      pos += 6;
    } else {
      return bad();
    }
  }
  if (pos != text.size()) return bad();
  return check(std::move(dt), kWhat);
}

std::string DateTime::to_iso(int default_offset_minutes) const {
  if (empty()) return {};
  std::string out = fmt::format("{:04}", year);
  if (precision >= Precision::kMonth) out += fmt::format("-{:02}", month);
  if (precision >= Precision::kDay) out += fmt::format("-{:02}", day);
  if (precision >= Precision::kHour) {
    out += fmt::format("T{:02}:{:02}:{:02}", hour, minute, second);
    if (!fraction.empty()) out += "." + fraction;
    int m = utc_offset_minutes.value_or(default_offset_minutes);
    if (m == 0) {
      out += 'Z';
    } else {
      out += fmt::format("{}{:02}:{:02}", m < 0 ? '-' : '+', std::abs(m) / 60, std::abs(m) % 60);
    }
  }
  return out;
}

}  // namespace labvault::model
