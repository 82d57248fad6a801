// A point in time as laboratories send it: with the precision the sender chose (a birth date
// is a day, a collection time may have seconds) and an optional UTC offset. Keeping the
// precision lets HL7 -> model -> HL7 reproduce the original value exactly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/error.hpp"

namespace labvault::model {

struct DateTime {
  enum class Precision { kNone, kYear, kMonth, kDay, kHour, kMinute, kSecond };

  Precision precision = Precision::kNone;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::string fraction;                   // digits after the decimal point of the seconds, as sent
  std::optional<int> utc_offset_minutes;  // east of UTC; nullopt when the sender gave none

  [[nodiscard]] bool empty() const { return precision == Precision::kNone; }

  // HL7 v2.5.1 2.A.22 DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]. An empty input
  // gives an empty DateTime. Errors name the problem, never the value.
  [[nodiscard]] static Result<DateTime> parse_hl7(std::string_view text);
  [[nodiscard]] std::string to_hl7() const;

  // FHIR R4 date/dateTime/instant: YYYY[-MM[-DD[Thh:mm:ss[.fff](Z|+hh:mm)]]].
  [[nodiscard]] static Result<DateTime> parse_iso(std::string_view text);
  // FHIR requires a zone when a time is present; `default_offset_minutes` fills it in when
  // the sender gave none. Hours or minutes without seconds are written with ":00" seconds.
  [[nodiscard]] std::string to_iso(int default_offset_minutes = 0) const;

  bool operator==(const DateTime&) const = default;
};

}  // namespace labvault::model
