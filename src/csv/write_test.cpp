// write(): RFC 4180 output, the formula guard, and write() -> read() round trips.
#include <gtest/gtest.h>

#include "csv/csv.hpp"
#include "csv/csv_test_util.hpp"

namespace labvault::csv {
namespace {

using namespace testing;

std::string with_header(std::string_view rows) { return std::string(kHeader) + std::string(rows); }

std::string crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return out;
}

TEST(CsvWrite, HeaderRowQuotingAndCrlfLineEnds) {
  Mapping mapping = test_mapping();
  auto messages = read_ok(with_header("1,\"O\"\"Test, Jr\",Alpha,19800115,F,O1,A1,P,c1,\"Name, "
                                      "long\",98.0,g/dL,3.1-9.7,H~A,F,\"two\nlines\"\n"),
                          mapping);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(write(messages, mapping),
            crlf(kHeader) +
                "1,\"O\"\"Test, Jr\",Alpha,19800115,F,O1,A1,P,c1,\"Name, long\",98.0,g/dL,"
                "3.1-9.7,H~A,F,\"two\nlines\"\r\n");
}

TEST(CsvWrite, HeaderlessMappingWritesByColumnNumber) {
  Mapping mapping = mapping_from(R"(
[csv]
header = false
delimiter = "|"
[columns]
patient.id = 5
obs.code = 1
obs.value = 3
)");
  // Unquoted, the delimiter in "a|b" makes a sixth column; quoted, it stays in the field.
  EXPECT_EQ(read_error("c1||98.0||P1\nc2||a|b||P1\n", mapping).message,
            "expected 5 columns, found 6");
  auto messages = read_ok("c1||98.0||P1\nc2||\"a|b\"||P1\n", mapping);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(write(messages, mapping), "c1||98.0||P1\r\nc2||\"a|b\"||P1\r\n");
}

TEST(CsvWrite, FormulaCellsGetAnApostropheButNumbersDoNot) {
  Mapping mapping = test_mapping();
  auto messages = read_ok(with_header("1,Testpatient,,,,,A1,,c1,,-5,,,,,\n"
                                      "1,,,,,,A1,,c2,,text,,,,,note\n"),
                          mapping);
  ASSERT_EQ(messages.size(), 1u);
  model::LabMessage& m = messages[0];
  m.patient.names[0].family = "=HYPERLINK(\"http://example.invalid\",\"open\")";
  m.reports[0].observations[1].value = model::TextValue{{"+cmd|' /C calc'!A0"}};
  m.reports[0].observations[1].notes = {"@SUM(1+1)"};
  std::string out = write(messages, mapping);
  EXPECT_NE(out.find(",\"'=HYPERLINK(\"\"http://example.invalid\"\",\"\"open\"\")\","),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(",'+cmd|' /C calc'!A0,"), std::string::npos) << out;
  EXPECT_NE(out.find(",'@SUM(1+1)\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find(",-5,"), std::string::npos) << out;  // a number is not a formula
  EXPECT_EQ(out.find("'-5"), std::string::npos) << out;
  // read() strips the guard again, so the model comes back unchanged.
  EXPECT_EQ(without_control_ids(read_ok(out, mapping)), without_control_ids(messages));
}

TEST(CsvWrite, SampleFileRoundTripsThroughTheModel) {
  auto mapping = parse_mapping(source_file("samples/csv/mapping.toml"), "mapping.toml");
  ASSERT_TRUE(mapping) << mapping.error().to_string();
  auto first = read_ok(source_file("samples/csv/results.csv"), *mapping);
  ASSERT_EQ(first.size(), 2u);
  std::string written = write(first, *mapping);
  auto second = read_ok(written, *mapping);
  EXPECT_EQ(second, first);
  EXPECT_EQ(write(second, *mapping), written);
}

TEST(CsvWrite, EveryValueTypeRoundTrips) {
  Mapping mapping = mapping_from(std::string(kMappingToml) + "obs.value_type = \"Type\"\n");
  std::string csv = with_header(
      "1,,,,,,A1,,c1,,98.0,,,,,,\n"
      "1,,,,,,A1,,c2,,<=2,,,,,,\n"
      "1,,,,,,A1,,c3,,x,,,,,,CWE\n"
      "1,,,,,,A1,,c4,,\"a\nb\",,,,,,TX\n"
      "1,,,,,,A1,,c5,,12,,,,,,ST\n"
      "1,,,,,,A1,,c6,,,,,,I,,\n");
  csv.replace(kHeader.size() - 1, 1, ",Type\n");
  auto messages = read_ok(csv, mapping);
  ASSERT_EQ(messages.size(), 1u);
  auto& obs = messages[0].reports[0].observations;
  ASSERT_EQ(obs.size(), 6u);
  obs[1].value = model::StructuredNumeric{"", "1", ".", "5"};
  obs[2].value = model::CodeableConcept{
      {{"260373001", "Detected", "SCT", ""}, {"DET", "Det, \"local\"", "L", ""}}, "seen"};
  obs[3].value = model::TextValue{{"line one", "", "=line three"}};
  std::string out = write(messages, mapping);
  EXPECT_EQ(without_control_ids(read_ok(out, mapping)), without_control_ids(messages)) << out;
}

TEST(CsvWrite, SeveralSpecimensOfOneReportSurvive) {
  Mapping mapping =
      mapping_from(std::string(kMappingToml) +
                   "specimen.id = \"Specimen\"\nspecimen.collected = \"Collected\"\n");
  std::string csv = with_header(
      "1,,,,,,A1,,c1,,1,,,,,,S1,20240315\n"
      "1,,,,,,A1,,c2,,2,,,,,,S2,20240316\n"
      "1,,,,,,A1,,c3,,3,,,,,,S2,20240316\n");
  csv.replace(kHeader.size() - 1, 1, ",Specimen,Collected\n");
  auto messages = read_ok(csv, mapping);
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].reports[0].specimens.size(), 2u);
  EXPECT_EQ(read_ok(write(messages, mapping), mapping), messages);
}

TEST(CsvWrite, EachReportKeepsItsOwnOrderWhenPlacerNumbersRepeat) {
  // Two reports share placer O1, one with an accession and one without: each row must carry
  // the provider of its own order (found by the fuzzer).
  Mapping mapping = mapping_from(std::string(kMappingToml) + "order.provider_id = \"NPI\"\n");
  std::string csv = with_header(
      "1,,,,,O1,A1,,c1,,1,,,,,,111\n"
      "1,,,,,O1,,,c2,,2,,,,,,222\n");
  csv.replace(kHeader.size() - 1, 1, ",NPI\n");
  auto messages = read_ok(csv, mapping);
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].orders.size(), 2u);
  EXPECT_EQ(messages[0].orders[1].ordering_provider.id, "222");
  std::string out = write(messages, mapping);
  EXPECT_NE(out.find(",O1,,,c2,,2,,,,F,,222\r\n"), std::string::npos) << out;
  EXPECT_EQ(read_ok(out, mapping), messages);
}

TEST(CsvWrite, CodeColumnsPreferTheDefaultSystemsCoding) {
  Mapping mapping = test_mapping();
  auto messages = read_ok(with_header("1,,,,,,A1,,c1,,5,,,,,\n"), mapping);
  ASSERT_EQ(messages.size(), 1u);
  // As an HL7 ORU with a local code first and LOINC as the alternate would fill it.
  messages[0].reports[0].observations[0].code.codings = {{"WBC", "White cells", "L", ""},
                                                         {"6690-2", "Leukocytes", "LN", ""}};
  auto back = read_ok(write(messages, mapping), mapping);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].reports[0].observations[0].code.codings[0],
            (model::Coding{"6690-2", "Leukocytes", "LN", ""}));
}

TEST(CsvWrite, DatesUseTheMappingsFormatAndKeepTheirPrecision) {
  Mapping mapping = mapping_from(R"(
[csv]
date_format = "%m/%d/%Y %H:%M"
[columns]
patient.id = "MRN"
patient.birth_date = "DOB"
obs.code = "Test"
obs.value = "Value"
obs.observed = "Observed"
)");
  auto messages =
      read_ok("MRN,DOB,Test,Value,Observed\n1,01/15/1980,c1,5,3/15/2024 8:10\n", mapping);
  ASSERT_EQ(messages.size(), 1u);
  std::string out = write(messages, mapping);
  EXPECT_EQ(out, "MRN,DOB,Test,Value,Observed\r\n1,01/15/1980,c1,5,03/15/2024 08:10\r\n");
  EXPECT_EQ(read_ok(out, mapping), messages);
}

}  // namespace
}  // namespace labvault::csv
