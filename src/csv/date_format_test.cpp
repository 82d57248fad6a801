// internal::DateFormat: the date_format of a mapping, read and written.
#include "csv/internal/date_format.hpp"

#include <gtest/gtest.h>

namespace labvault::csv::internal {
namespace {

using model::DateTime;
using P = DateTime::Precision;

DateFormat compiled(std::string_view spec) {
  auto f = DateFormat::compile(spec);
  EXPECT_TRUE(f) << spec;
  return f ? *f : *DateFormat::compile("hl7");
}

DateTime parsed(const DateFormat& f, std::string_view text) {
  auto dt = f.parse(text);
  EXPECT_TRUE(dt) << text << ": " << (dt ? "" : dt.error().message);
  return dt ? *dt : DateTime{};
}

TEST(CsvDateFormat, Hl7KeepsThePrecisionSent) {
  DateFormat f = compiled("hl7");
  DateTime dt = parsed(f, "202403150810-0500");
  EXPECT_EQ(dt.precision, P::kMinute);
  EXPECT_EQ(dt.utc_offset_minutes, -300);
  EXPECT_EQ(f.format(dt), "202403150810-0500");
  EXPECT_EQ(parsed(f, "19800115").precision, P::kDay);
  EXPECT_TRUE(parsed(f, "").empty());
}

TEST(CsvDateFormat, IsoZoneIsOptionalAndStaysMissing) {
  DateFormat f = compiled("iso");
  DateTime local = parsed(f, "2024-03-15T08:10");
  EXPECT_EQ(local.precision, P::kMinute);
  EXPECT_FALSE(local.utc_offset_minutes.has_value());
  EXPECT_EQ(f.format(local), "2024-03-15T08:10");
  DateTime zoned = parsed(f, "2024-03-15 08:10:05.25+05:30");
  EXPECT_EQ(zoned.precision, P::kSecond);
  EXPECT_EQ(zoned.fraction, "25");
  EXPECT_EQ(zoned.utc_offset_minutes, 330);
  EXPECT_EQ(f.format(zoned), "2024-03-15T08:10:05.25+05:30");
  EXPECT_EQ(parsed(f, "2024-03-15T08:10Z").utc_offset_minutes, 0);
  EXPECT_EQ(parsed(f, "1980-01").precision, P::kMonth);
  EXPECT_FALSE(f.parse("2024-03-15T"));
  EXPECT_FALSE(f.parse("15/03/2024"));
}

TEST(CsvDateFormat, PatternReadsUsDatesAndMayStopAfterTheDate) {
  DateFormat f = compiled("%m/%d/%Y %H:%M");
  DateTime dt = parsed(f, "3/5/2024 8:10");
  EXPECT_EQ(dt.year, 2024);
  EXPECT_EQ(dt.month, 3);
  EXPECT_EQ(dt.day, 5);
  EXPECT_EQ(dt.hour, 8);
  EXPECT_EQ(dt.minute, 10);
  EXPECT_EQ(dt.precision, P::kMinute);
  EXPECT_EQ(f.format(dt), "03/05/2024 08:10");
  DateTime birth = parsed(f, "01/15/1980");
  EXPECT_EQ(birth.precision, P::kDay);
  EXPECT_EQ(f.format(birth), "01/15/1980");
  // Stopping is allowed only where the rest of the pattern is time of day.
  EXPECT_FALSE(f.parse("01/15"));
}

TEST(CsvDateFormat, TwelveHourClockAndZone) {
  DateFormat f = compiled("%Y-%m-%d %I:%M %p %z");
  DateTime noon = parsed(f, "2024-03-15 12:05 PM -0500");
  EXPECT_EQ(noon.hour, 12);
  EXPECT_EQ(noon.utc_offset_minutes, -300);
  EXPECT_EQ(parsed(f, "2024-03-15 12:05 am").hour, 0);
  EXPECT_EQ(parsed(f, "2024-03-15 01:05 pm").hour, 13);
  EXPECT_EQ(f.format(noon), "2024-03-15 12:05 PM -0500");
  EXPECT_FALSE(f.parse("2024-03-15 13:05 PM"));
  EXPECT_FALSE(f.parse("2024-03-15 01:05"));  // %I without AM/PM is ambiguous
}

TEST(CsvDateFormat, RejectsImpossibleDatesAndTrailingText) {
  DateFormat f = compiled("%m/%d/%Y");
  EXPECT_FALSE(f.parse("02/30/2024"));
  EXPECT_TRUE(f.parse("02/29/2024"));
  EXPECT_FALSE(f.parse("02/29/2023"));
  EXPECT_FALSE(f.parse("13/01/2024"));
  EXPECT_FALSE(f.parse("01/01/2024x"));
  EXPECT_FALSE(f.parse("01-01-2024"));
  auto error = f.parse("99/99/2024");
  ASSERT_FALSE(error);
  EXPECT_NE(error.error().message.find("date does not match date_format %m/%d/%Y"),
            std::string::npos);
  EXPECT_EQ(error.error().message.find("99/99"), std::string::npos);
}

TEST(CsvDateFormat, FormatThenParseGivesBackTheSameDateTime) {
  auto hl7 = [](std::string_view s) { return *DateTime::parse_hl7(s); };
  const DateTime samples[] = {hl7("2024"),
                              hl7("202403"),
                              hl7("20240315"),
                              hl7("2024031508"),
                              hl7("202403150810"),
                              hl7("20240315081005"),
                              hl7("20240315081005.12+0100"),
                              hl7("202403150810-0330")};
  for (std::string_view spec : {"hl7", "iso", "%Y-%m-%dT%H:%M:%S.%f%z"}) {
    DateFormat f = compiled(spec);
    for (const DateTime& dt : samples) {
      // A pattern is written up to the first part the value lacks, so a zone that follows
      // seconds in the pattern is lost for a time without seconds.
      if (spec.starts_with('%') && dt.utc_offset_minutes && dt.fraction.empty()) continue;
      std::string text = f.format(dt);
      EXPECT_EQ(parsed(f, text), dt) << spec << " wrote " << text;
    }
  }
  EXPECT_EQ(compiled("%Y-%m-%dT%H:%M:%S.%f%z").format(hl7("202403150810-0330")),
            "2024-03-15T08:10");
  DateFormat literal = compiled("%d.%m.%Y um %H%% %M");
  EXPECT_EQ(literal.format(hl7("202403150810")), "15.03.2024 um 08% 10");
  EXPECT_EQ(parsed(literal, "15.03.2024 um 08% 10"), hl7("202403150810"));
}

}  // namespace
}  // namespace labvault::csv::internal
