// internal values: SN, CWE, reference ranges, flags and the formula guard.
#include "csv/internal/values.hpp"

#include <gtest/gtest.h>

namespace labvault::csv::internal {
namespace {

using model::StructuredNumeric;

TEST(CsvValues, NumbersFollowHl7Nm) {
  EXPECT_TRUE(is_hl7_number("98.0"));
  EXPECT_TRUE(is_hl7_number("-0.5"));
  EXPECT_TRUE(is_hl7_number("+5"));
  EXPECT_TRUE(is_hl7_number(".5"));
  EXPECT_FALSE(is_hl7_number("1e5"));
  EXPECT_FALSE(is_hl7_number("-"));
  EXPECT_FALSE(is_hl7_number("1,000"));
  EXPECT_FALSE(is_hl7_number(""));
  EXPECT_EQ(parse_numeric("+5")->value, 5);
}

TEST(CsvValues, StructuredNumericInBothSpellings) {
  EXPECT_EQ(parse_structured_numeric(">100000"), (StructuredNumeric{">", "100000", "", ""}));
  EXPECT_EQ(parse_structured_numeric("<= 2"), (StructuredNumeric{"<=", "2", "", ""}));
  EXPECT_EQ(parse_structured_numeric("1:128"), (StructuredNumeric{"", "1", ":", "128"}));
  EXPECT_EQ(parse_structured_numeric(">^100000"), (StructuredNumeric{">", "100000", "", ""}));
  EXPECT_EQ(parse_structured_numeric("^1^:^128"), (StructuredNumeric{"", "1", ":", "128"}));
  EXPECT_FALSE(parse_structured_numeric("3+"));
  EXPECT_FALSE(parse_structured_numeric("2024-01-05"));
  EXPECT_FALSE(parse_structured_numeric("Positive"));
  EXPECT_FALSE(parse_structured_numeric("!^1"));
  EXPECT_FALSE(parse_structured_numeric("^1^:"));
}

TEST(CsvValues, StructuredNumericFormatReadsBack) {
  const StructuredNumeric cases[] = {
      {">", "100000", "", ""}, {"<=", "2", "", ""},
      {"", "1", ":", "128"},   {"", "1", ".", "5"},  // compact "1.5" would read back as one number
      {"<>", "-3", "-", "-1"},
  };
  for (const StructuredNumeric& sn : cases) {
    std::string text = format_structured_numeric(sn);
    EXPECT_EQ(parse_structured_numeric(text), sn) << text;
  }
  EXPECT_EQ(format_structured_numeric({"", "1", ".", "5"}), "^1^.^5");
  EXPECT_EQ(format_structured_numeric({">", "100000", "", ""}), ">100000");
}

TEST(CsvValues, CodedValuesUseCweComponents) {
  auto cc = parse_coded_value("260373001^Detected^SCT^DET^Detected^L^2024^^Detected in sample");
  ASSERT_EQ(cc.codings.size(), 2u);
  EXPECT_EQ(cc.codings[0], (model::Coding{"260373001", "Detected", "SCT", "2024"}));
  EXPECT_EQ(cc.codings[1], (model::Coding{"DET", "Detected", "L", ""}));
  EXPECT_EQ(cc.original_text, "Detected in sample");
  EXPECT_EQ(parse_coded_value(format_coded_value(cc)), cc);
  EXPECT_EQ(format_coded_value(parse_coded_value("Positive")), "Positive");
  EXPECT_EQ(parse_coded_value("Positive").codings[0].code, "Positive");
}

TEST(CsvValues, ReferenceRangeBounds) {
  auto range = parse_reference_range("3.1-9.7");
  EXPECT_EQ(range.text, "3.1-9.7");
  EXPECT_EQ(range.low, 3.1);
  EXPECT_EQ(range.high, 9.7);
  EXPECT_EQ(parse_reference_range("-2 - 2").low, -2);
  EXPECT_EQ(parse_reference_range("<10 ug/dL").high, 10);
  EXPECT_FALSE(parse_reference_range("<10 ug/dL").low);
  EXPECT_EQ(parse_reference_range(">=60").low, 60);
  auto words = parse_reference_range("Negative");
  EXPECT_EQ(words.text, "Negative");
  EXPECT_FALSE(words.low || words.high);
  EXPECT_FALSE(parse_reference_range("1-2x").high);
  EXPECT_EQ(format_reference_range({"", 1.5, 3.0}), "1.5-3");
  EXPECT_EQ(format_reference_range({"", std::nullopt, 3.0}), "<=3");
}

TEST(CsvValues, FlagsSplitOnTildeOrSemicolon) {
  EXPECT_EQ(split_flags("H~A"), (std::vector<std::string>{"H", "A"}));
  EXPECT_EQ(split_flags(" H ; A ;"), (std::vector<std::string>{"H", "A"}));
  EXPECT_TRUE(split_flags("").empty());
}

TEST(CsvValues, FormulaGuardSparesNumbersAndReadsBack) {
  for (std::string_view formula : {"=1+1", "+cmd", "-x", "@SUM(A1)", "\tx", "\rx", "'=x", "''@x"})
    EXPECT_TRUE(needs_formula_guard(formula)) << formula;
  for (std::string_view plain : {"-5", "+2.5", "abc", "'abc", "", "a=b"})
    EXPECT_FALSE(needs_formula_guard(plain)) << plain;
  for (std::string_view cell : {"=1+1", "'=x", "''@x", "-x", "'abc", "-5"}) {
    std::string written = needs_formula_guard(cell) ? "'" + std::string(cell) : std::string(cell);
    EXPECT_EQ(strip_formula_guard(written), cell) << cell;
  }
}

}  // namespace
}  // namespace labvault::csv::internal
