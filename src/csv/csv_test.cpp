// read(): RFC 4180 parsing, how rows fill the model, grouping, and errors.
#include "csv/csv.hpp"

#include <gtest/gtest.h>

#include "csv/csv_test_util.hpp"

namespace labvault::csv {
namespace {

using namespace testing;
using model::DateTime;
using model::ErrorCode;

constexpr std::string_view kCanary = "CANARY-PHI-7731";

std::string with_header(std::string_view rows) { return std::string(kHeader) + std::string(rows); }

TEST(CsvRead, OneRowFillsTheModelLikeAnHl7Oru) {
  auto messages = read_ok(with_header("900001,Testpatient,Alpha,19800115,F,ORD-1,ACC-1,58410-2,"
                                      "718-7,Hemoglobin,98.0,g/dL,3.1-9.7,H~A,F,\n"),
                          test_mapping());
  ASSERT_EQ(messages.size(), 1u);
  const model::LabMessage& m = messages[0];
  EXPECT_EQ(m.header.message_type, "ORU");
  EXPECT_EQ(m.header.trigger_event, "R01");
  EXPECT_EQ(m.header.sending_facility, "Example Lab");
  ASSERT_EQ(m.patient.identifiers.size(), 1u);
  EXPECT_EQ(m.patient.identifiers[0], (model::Identifier{"900001", "", "MR"}));
  ASSERT_EQ(m.patient.names.size(), 1u);
  EXPECT_EQ(m.patient.names[0].family, "Testpatient");
  EXPECT_EQ(m.patient.names[0].given, std::vector<std::string>{"Alpha"});
  EXPECT_EQ(m.patient.birth_date, *DateTime::parse_hl7("19800115"));
  EXPECT_EQ(m.patient.sex, model::Sex::kFemale);

  ASSERT_EQ(m.reports.size(), 1u);
  const model::Report& r = m.reports[0];
  EXPECT_EQ(r.set_id, "1");
  EXPECT_EQ(r.filler_order_number.value, "ACC-1");
  EXPECT_EQ(r.placer_order_number.value, "ORD-1");
  ASSERT_EQ(r.service.codings.size(), 1u);
  EXPECT_EQ(r.service.codings[0].code, "58410-2");
  EXPECT_EQ(r.service.codings[0].system, "LN");
  ASSERT_EQ(m.orders.size(), 1u);
  EXPECT_EQ(m.orders[0].filler_order_number.value, "ACC-1");
  EXPECT_EQ(m.orders[0].placer_order_number.value, "ORD-1");

  ASSERT_EQ(r.observations.size(), 1u);
  const model::Observation& o = r.observations[0];
  EXPECT_EQ(o.set_id, "1");
  EXPECT_EQ(o.value_type, "NM");
  ASSERT_EQ(o.code.codings.size(), 1u);
  EXPECT_EQ(o.code.codings[0], (model::Coding{"718-7", "Hemoglobin", "LN", ""}));
  ASSERT_TRUE(std::holds_alternative<model::NumericValue>(o.value));
  EXPECT_EQ(std::get<model::NumericValue>(o.value).text, "98.0");  // precision kept
  EXPECT_DOUBLE_EQ(std::get<model::NumericValue>(o.value).value, 98.0);
  EXPECT_EQ(o.unit.code, "g/dL");
  EXPECT_EQ(o.reference_range.text, "3.1-9.7");
  EXPECT_EQ(o.reference_range.low, 3.1);
  EXPECT_EQ(o.reference_range.high, 9.7);
  EXPECT_EQ(o.abnormal_flags, (std::vector<std::string>{"H", "A"}));
  EXPECT_EQ(o.status, model::ResultStatus::kFinal);
  EXPECT_TRUE(o.notes.empty());
}

TEST(CsvRead, ValueTypeFollowsTheValueWhenNotDeclared) {
  auto messages = read_ok(with_header("1,,,,,,A,,c1,,>100000,,,,,\n"
                                      "1,,,,,,A,,c2,,<=2,,,,,\n"
                                      "1,,,,,,A,,c3,,1:128,,,,,\n"
                                      "1,,,,,,A,,c4,,Positive,,,,,\n"
                                      "1,,,,,,A,,c5,,-0.5,,,,,\n"),
                          test_mapping());
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].reports.size(), 1u);
  const auto& obs = messages[0].reports[0].observations;
  ASSERT_EQ(obs.size(), 5u);
  EXPECT_EQ(obs[0].value_type, "SN");
  EXPECT_EQ(std::get<model::StructuredNumeric>(obs[0].value),
            (model::StructuredNumeric{">", "100000", "", ""}));
  EXPECT_EQ(std::get<model::StructuredNumeric>(obs[1].value),
            (model::StructuredNumeric{"<=", "2", "", ""}));
  EXPECT_EQ(std::get<model::StructuredNumeric>(obs[2].value),
            (model::StructuredNumeric{"", "1", ":", "128"}));
  EXPECT_EQ(obs[3].value_type, "ST");
  EXPECT_EQ(std::get<model::TextValue>(obs[3].value).lines, std::vector<std::string>{"Positive"});
  EXPECT_EQ(obs[4].value_type, "NM");
  EXPECT_DOUBLE_EQ(std::get<model::NumericValue>(obs[4].value).value, -0.5);
  EXPECT_EQ(obs[4].set_id, "5");
}

TEST(CsvRead, DeclaredValueTypesAreHonoured) {
  Mapping mapping = mapping_from(std::string(kMappingToml) + "obs.value_type = \"Type\"\n");
  auto messages = read_ok(with_header("1,,,,,,A,,c1,,260373001^Detected^SCT,,,,,,CWE\n"
                                      "1,,,,,,A,,c2,,12,,,,,,ST\n"
                                      "1,,,,,,A,,c3,,\"line one\nline two\",,,,,,TX\n")
                              .replace(kHeader.size() - 1, 1, ",Type\n"),
                          mapping);
  ASSERT_EQ(messages.size(), 1u);
  const auto& obs = messages[0].reports[0].observations;
  ASSERT_EQ(obs.size(), 3u);
  EXPECT_EQ(obs[0].value_type, "CWE");
  const auto& cc = std::get<model::CodeableConcept>(obs[0].value);
  ASSERT_EQ(cc.codings.size(), 1u);
  EXPECT_EQ(cc.codings[0], (model::Coding{"260373001", "Detected", "SCT", ""}));
  EXPECT_EQ(std::get<model::TextValue>(obs[1].value).lines, std::vector<std::string>{"12"});
  EXPECT_EQ(std::get<model::TextValue>(obs[2].value).lines,
            (std::vector<std::string>{"line one", "line two"}));
}

TEST(CsvRead, QuotedNewlineStaysInsideTheField) {
  auto messages = read_ok(with_header("1,,,,,,A,,c1,,5,,,,,\"first line\r\nsecond, line\"\n"
                                      "1,,,,,,A,,c2,,6,,,,,after\n"),
                          test_mapping());
  ASSERT_EQ(messages.size(), 1u);
  const auto& obs = messages[0].reports[0].observations;
  ASSERT_EQ(obs.size(), 2u);
  EXPECT_EQ(obs[0].notes, std::vector<std::string>{"first line\r\nsecond, line"});
  EXPECT_EQ(obs[1].notes, std::vector<std::string>{"after"});
}

TEST(CsvRead, DoubledQuotesAndDelimitersInsideQuotes) {
  auto messages =
      read_ok(with_header("1,\"O\"\"Testpatient, Jr\",,,,,A,,c1,,5,,,,,\"say \"\"hi\"\"\"\n"),
              test_mapping());
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].patient.names[0].family, "O\"Testpatient, Jr");
  EXPECT_EQ(messages[0].reports[0].observations[0].notes, std::vector<std::string>{"say \"hi\""});
}

TEST(CsvRead, CrlfLfBomAndTrailingEmptyLinesReadTheSame) {
  std::string lf = with_header("1,,,,,,A,,c1,,5,,,,,\n2,,,,,,B,,c2,,6,,,,,\n");
  std::string crlf;
  for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  auto expected = read_ok(lf, test_mapping());
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(read_ok(crlf, test_mapping()), expected);
  EXPECT_EQ(read_ok("\xEF\xBB\xBF" + crlf, test_mapping()), expected);
  EXPECT_EQ(read_ok(lf + "\n\n", test_mapping()), expected);
  EXPECT_EQ(read_ok(lf.substr(0, lf.size() - 1), test_mapping()), expected);  // no final LF
}

TEST(CsvRead, RowsGroupByPatientThenAccession) {
  auto messages = read_ok(with_header("P1,,,,,O1,ACC-1,,c1,,1,,,,,\n"
                                      "P2,,,,,O3,ACC-3,,c2,,2,,,,,\n"
                                      "P1,,,,,O2,ACC-2,,c3,,3,,,,,\n"
                                      "P1,,,,,O1,ACC-1,,c4,,4,,,,,\n"),
                          test_mapping());
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].patient.identifiers[0].value, "P1");
  EXPECT_EQ(messages[1].patient.identifiers[0].value, "P2");
  ASSERT_EQ(messages[0].reports.size(), 2u);
  EXPECT_EQ(messages[0].reports[0].filler_order_number.value, "ACC-1");
  EXPECT_EQ(messages[0].reports[1].filler_order_number.value, "ACC-2");
  EXPECT_EQ(messages[0].reports[1].set_id, "2");
  ASSERT_EQ(messages[0].reports[0].observations.size(), 2u);
  EXPECT_EQ(messages[0].reports[0].observations[0].code.codings[0].code, "c1");
  EXPECT_EQ(messages[0].reports[0].observations[1].code.codings[0].code, "c4");
  ASSERT_EQ(messages[0].orders.size(), 2u);
  EXPECT_EQ(messages[0].orders[1].placer_order_number.value, "O2");
  // MSH-10 follows the content: stable when the same rows come again, new when they change,
  // never the file name, and within MSH-10's 20 characters.
  EXPECT_NE(messages[0].header.control_id, messages[1].header.control_id);
  EXPECT_EQ(messages[0].header.control_id.size(), 19u);
  EXPECT_EQ(messages[0].header.control_id.find("results"), std::string::npos);
  auto again = read_ok(with_header("P1,,,,,O1,ACC-1,,c1,,1,,,,,\n"
                                   "P2,,,,,O3,ACC-3,,c2,,2,,,,,\n"
                                   "P1,,,,,O2,ACC-2,,c3,,3,,,,,\n"
                                   "P1,,,,,O1,ACC-1,,c4,,4,,,,,\n"),
                       test_mapping());
  EXPECT_EQ(again[0].header.control_id, messages[0].header.control_id);
  auto changed = read_ok(with_header("P1,,,,,O1,ACC-1,,c1,,9,,,,,\n"), test_mapping());
  EXPECT_NE(changed[0].header.control_id, messages[0].header.control_id);
}

TEST(CsvRead, RowsWithoutAccessionGroupByPlacerOrder) {
  auto messages = read_ok(with_header("P1,,,,,O1,,,c1,,1,,,,,\n"
                                      "P1,,,,,O2,,,c2,,2,,,,,\n"
                                      "P1,,,,,O1,,,c3,,3,,,,,\n"),
                          test_mapping());
  ASSERT_EQ(messages.size(), 1u);
  ASSERT_EQ(messages[0].reports.size(), 2u);
  EXPECT_EQ(messages[0].reports[0].placer_order_number.value, "O1");
  EXPECT_EQ(messages[0].reports[0].observations.size(), 2u);
}

TEST(CsvRead, PendingRowHasAStatusAndNoValue) {
  auto messages = read_ok(with_header("1,,,,,,A,,c1,,,,,,I,\n"), test_mapping());
  ASSERT_EQ(messages.size(), 1u);
  const model::Observation& o = messages[0].reports[0].observations[0];
  EXPECT_EQ(o.status, model::ResultStatus::kPending);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(o.value));
  EXPECT_EQ(o.value_type, "");
}

TEST(CsvRead, EmptyPatientCellsOnLaterRowsDoNotConflict) {
  auto messages = read_ok(with_header("1,Testpatient,Alpha,19800115,F,,A,,c1,,5,,,,,\n"
                                      "1,,,,,,A,,c2,,6,,,,,\n"),
                          test_mapping());
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].patient.names[0].family, "Testpatient");
}

TEST(CsvRead, HeaderlessMappingUsesColumnNumbers) {
  Mapping mapping = mapping_from(R"(
[csv]
header = false
delimiter = ";"
[columns]
patient.id = 3
obs.code = 1
obs.value = 2
)");
  auto messages = read_ok("718-7;98.0;P1\n2345-7;5;P1\n", mapping);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].patient.identifiers[0].value, "P1");
  ASSERT_EQ(messages[0].reports[0].observations.size(), 2u);
  EXPECT_EQ(messages[0].reports[0].observations[1].code.codings[0].code, "2345-7");
}

TEST(CsvRead, ReadsTheSampleFileWithTheSampleMapping) {
  auto mapping = parse_mapping(source_file("samples/csv/mapping.toml"), "mapping.toml");
  ASSERT_TRUE(mapping) << mapping.error().to_string();
  auto messages = read_ok(source_file("samples/csv/results.csv"), *mapping);
  ASSERT_EQ(messages.size(), 2u);
  const model::LabMessage& alpha = messages[0];
  EXPECT_EQ(alpha.patient.identifiers[0].assigning_authority, "EXAMPLE-LAB");
  EXPECT_EQ(alpha.patient.birth_date.precision, DateTime::Precision::kDay);
  ASSERT_EQ(alpha.reports.size(), 2u);
  EXPECT_EQ(alpha.reports[0].observations.size(), 3u);
  ASSERT_EQ(alpha.reports[0].specimens.size(), 1u);
  EXPECT_EQ(alpha.reports[0].specimens[0].type.codings[0].code, "BLD");
  EXPECT_EQ(alpha.reports[0].observed, alpha.reports[0].specimens[0].collected);
  EXPECT_EQ(alpha.orders[0].ordering_provider.name.family, "Fakedoctor");
  const model::Observation& culture = alpha.reports[1].observations[0];
  EXPECT_EQ(std::get<model::StructuredNumeric>(culture.value).comparator, ">");
  EXPECT_EQ(culture.reference_range.high, 10000);
  EXPECT_EQ(culture.status, model::ResultStatus::kPreliminary);
  EXPECT_EQ(alpha.reports[1].status, model::ReportStatus::kPreliminary);
  EXPECT_EQ(culture.notes.size(), 1u);
  const model::Report& bravo = messages[1].reports[0];
  EXPECT_EQ(bravo.status, model::ReportStatus::kPartial);
  EXPECT_EQ(bravo.observations[1].status, model::ResultStatus::kPending);
}

// --- errors: where, what, and never the value -------------------------------------------

TEST(CsvRead, ErrorNamesLineAndColumnButNotTheValue) {
  // The bad row starts on physical line 4: the quoted note of row 2 spans two lines.
  auto error = read_error(with_header(std::string("1,,,,,,A,,c1,,5,,,,,\"two\nlines\"\n") + "1,,," +
                                      std::string(kCanary) + ",,,A,,c1,,5,,,,,\n"),
                          test_mapping());
  EXPECT_EQ(error.code, ErrorCode::kDataType);
  EXPECT_EQ(error.location.file, "results.csv");
  EXPECT_EQ(error.location.line, 4);
  EXPECT_EQ(error.location.column, 4);
  EXPECT_EQ(error.location.column_name, "DOB");
  EXPECT_NE(error.message.find("patient.birth_date"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("date_format hl7"), std::string::npos) << error.message;
  EXPECT_EQ(error.to_string().find(kCanary), std::string::npos) << error.to_string();
}

TEST(CsvRead, DeclaredNumberThatIsNotANumberIsATypeErrorWithoutTheValue) {
  Mapping mapping = mapping_from(std::string(kMappingToml) + "obs.value_type = \"Type\"\n");
  std::string csv = with_header("1,,,,,,A,,c1,," + std::string(kCanary) + ",,,,,,NM\n");
  csv.replace(kHeader.size() - 1, 1, ",Type\n");
  auto error = read_error(csv, mapping);
  EXPECT_EQ(error.code, ErrorCode::kDataType);
  EXPECT_EQ(error.message, "obs.value declared NM but is not a number");
  EXPECT_EQ(error.location.line, 2);
  EXPECT_EQ(error.location.column_name, "Value");
  EXPECT_EQ(error.to_string().find(kCanary), std::string::npos);
}

TEST(CsvRead, UnterminatedQuotedFieldIsReportedWhereTheRecordStarts) {
  auto error = read_error(with_header("1,,,,,,A,,c1,,5,,,,,ok\n1,,,,,,A,,c1,,5,,,,,\"open\nmore\n"),
                          test_mapping());
  EXPECT_EQ(error.code, ErrorCode::kParse);
  EXPECT_EQ(error.location.line, 3);
  EXPECT_EQ(error.location.column, 16);
  EXPECT_EQ(error.location.column_name, "Comment");
  EXPECT_NE(error.message.find("unterminated quoted field"), std::string::npos);
}

TEST(CsvRead, ColumnCountMismatchSaysExpectedAndFound) {
  auto error = read_error(with_header("1,,,,,,A,,c1,,5,,,,\n"), test_mapping());
  EXPECT_EQ(error.code, ErrorCode::kParse);
  EXPECT_EQ(error.message, "expected 16 columns, found 15");
  EXPECT_EQ(error.location.line, 2);
  EXPECT_EQ(error.location.column, 16);
}

TEST(CsvRead, MissingHeaderColumnIsNamed) {
  auto error = read_error("MRN,Test,Value\n1,c1,5\n", test_mapping());
  EXPECT_EQ(error.code, ErrorCode::kRequiredFieldMissing);
  EXPECT_EQ(error.location.line, 1);
  EXPECT_NE(error.message.find("missing required column 'Last' in header"), std::string::npos)
      << error.message;
}

TEST(CsvRead, QuoteInsideAnUnquotedFieldIsRejected) {
  auto error = read_error(with_header("1,Test\"patient,,,,,A,,c1,,5,,,,,\n"), test_mapping());
  EXPECT_EQ(error.code, ErrorCode::kParse);
  EXPECT_EQ(error.location.column, 2);
  EXPECT_NE(error.message.find("RFC 4180"), std::string::npos);
}

TEST(CsvRead, TextAfterAClosingQuoteIsRejected) {
  auto error = read_error(with_header("1,\"Test\"x,,,,,A,,c1,,5,,,,,\n"), test_mapping());
  EXPECT_EQ(error.code, ErrorCode::kParse);
  EXPECT_EQ(error.location.column, 2);
}

TEST(CsvRead, PatientCellsThatDisagreeAcrossRowsAreAnError) {
  auto error = read_error(with_header("1,Testpatient,,,,,A,,c1,,5,,,,,\n"
                                      "1," +
                                      std::string(kCanary) + ",,,,,A,,c2,,6,,,,,\n"),
                          test_mapping());
  EXPECT_EQ(error.location.line, 3);
  EXPECT_EQ(error.location.column_name, "Last");
  EXPECT_EQ(error.message, "patient.family differs from line 2 for the same patient.id");
  EXPECT_EQ(error.to_string().find(kCanary), std::string::npos);
}

TEST(CsvRead, ReportCellsThatDisagreeWithinAnAccessionAreAnError) {
  auto error =
      read_error(with_header("1,,,,,O1,A,,c1,,5,,,,,\n1,,,,,O2,A,,c2,,6,,,,,\n"), test_mapping());
  EXPECT_EQ(error.location.column_name, "Order");
  EXPECT_NE(error.message.find("order.placer differs from line 2"), std::string::npos);
}

TEST(CsvRead, UnknownStatusIsATableValueError) {
  auto error = read_error(with_header("1,,,,,,A,,c1,,5,,,,Q,\n"), test_mapping());
  EXPECT_EQ(error.code, ErrorCode::kTableValue);
  EXPECT_EQ(error.location.column_name, "Status");
  EXPECT_NE(error.message.find("table 0085"), std::string::npos);

  auto sex = read_error(with_header("1,,,,Q,,A,,c1,,5,,,,,\n"), test_mapping());
  EXPECT_EQ(sex.code, ErrorCode::kTableValue);
  EXPECT_EQ(sex.location.column_name, "Sex");
}

TEST(CsvRead, RequiredCellsMustNotBeEmpty) {
  auto no_patient = read_error(with_header(",,,,,,A,,c1,,5,,,,,\n"), test_mapping());
  EXPECT_EQ(no_patient.code, ErrorCode::kRequiredFieldMissing);
  EXPECT_EQ(no_patient.location.column_name, "MRN");
  auto no_code = read_error(with_header("1,,,,,,A,,  ,,5,,,,,\n"), test_mapping());
  EXPECT_EQ(no_code.location.column_name, "Test");
  auto nothing = read_error(with_header("1,,,,,,A,,c1,,,,,,,\n"), test_mapping());
  EXPECT_EQ(nothing.message, "row has neither obs.value nor obs.status");
}

TEST(CsvRead, EncodingProblemsAreNamed) {
  EXPECT_EQ(read_error("\xFF\xFEM\0R\0N\0", test_mapping()).code, ErrorCode::kEncoding);
  auto bad_utf8 = read_error(with_header("1,Test\xC3(patient,,,,,A,,c1,,5,,,,,\n"), test_mapping());
  EXPECT_EQ(bad_utf8.code, ErrorCode::kEncoding);
  EXPECT_EQ(bad_utf8.location.line, 2);
  EXPECT_EQ(read_error(std::string("MRN\0,x\n", 7), test_mapping()).code, ErrorCode::kEncoding);
}

TEST(CsvRead, RowsOfBareDelimitersFromSpreadsheetsAreSkipped) {
  auto messages =
      read_ok(with_header("P1,,,,,O1,ACC-1,,c1,,1,,,,,\n,,,,,,,,,,,,,,,\n,,,,,,,,,,,,,,,\n"),
              test_mapping());
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].reports.at(0).observations.size(), 1u);
}

TEST(CsvRead, EmptyFileNeedsAHeader) {
  EXPECT_EQ(read_error("", test_mapping()).message, "file is empty; expected a header row");
  EXPECT_TRUE(read_ok(kHeader, test_mapping()).empty());
}

}  // namespace
}  // namespace labvault::csv
