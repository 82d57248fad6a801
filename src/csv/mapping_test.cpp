// parse_mapping(): what a mapping file may say, and how each mistake is reported.
#include <gtest/gtest.h>

#include "csv/csv.hpp"
#include "csv/csv_test_util.hpp"

namespace labvault::csv {
namespace {

using model::ErrorCode;

constexpr std::string_view kRequired = R"(
patient.id = "MRN"
obs.code = "Test"
obs.value = "Value"
)";

model::Error mapping_error(std::string_view toml) {
  auto mapping = parse_mapping(toml, "lab.toml");
  EXPECT_FALSE(mapping.has_value()) << "expected the mapping to be rejected";
  return mapping ? model::Error{} : mapping.error();
}

TEST(CsvMapping, ReadsCsvOptionsAndKeepsColumnsInFileOrder) {
  auto mapping = parse_mapping(R"(
[csv]
delimiter = "\t"
header = true
date_format = "%m/%d/%Y %H:%M"
default_code_system = "L"
sending_facility = "Example Lab"

[columns]
obs.value = "Result"
patient.id = "MRN"
obs.code = "Code"
)",
                               "lab.toml");
  ASSERT_TRUE(mapping) << mapping.error().to_string();
  EXPECT_EQ(mapping->delimiter, '\t');
  EXPECT_TRUE(mapping->header);
  EXPECT_EQ(mapping->date_format, "%m/%d/%Y %H:%M");
  EXPECT_EQ(mapping->default_code_system, "L");
  EXPECT_EQ(mapping->sending_facility, "Example Lab");
  ASSERT_EQ(mapping->columns.size(), 3u);
  EXPECT_EQ(mapping->columns[0], (ColumnMapping{Field::kObsValue, "Result", 0}));
  EXPECT_EQ(mapping->columns[1], (ColumnMapping{Field::kPatientId, "MRN", 0}));
  EXPECT_EQ(mapping->columns[2], (ColumnMapping{Field::kObsCode, "Code", 0}));
}

TEST(CsvMapping, DefaultsApplyWithoutACsvTable) {
  auto mapping = parse_mapping(std::string("[columns]\n") + std::string(kRequired), "lab.toml");
  ASSERT_TRUE(mapping) << mapping.error().to_string();
  EXPECT_EQ(mapping->delimiter, ',');
  EXPECT_TRUE(mapping->header);
  EXPECT_EQ(mapping->date_format, "hl7");
  EXPECT_EQ(mapping->default_code_system, "LN");
}

TEST(CsvMapping, DottedQuotedAndSubTableKeysNameTheSameField) {
  auto dotted = parse_mapping(std::string("[columns]\n") + std::string(kRequired), "a.toml");
  auto quoted = parse_mapping(R"(
[columns]
"patient.id" = "MRN"
"obs.code" = "Test"
"obs.value" = "Value"
)",
                              "b.toml");
  auto tables = parse_mapping(R"(
[columns.patient]
id = "MRN"
[columns.obs]
code = "Test"
value = "Value"
)",
                              "c.toml");
  ASSERT_TRUE(dotted && quoted && tables);
  EXPECT_EQ(*dotted, *quoted);
  EXPECT_EQ(*dotted, *tables);
}

TEST(CsvMapping, UnknownFieldIsAnErrorNamingTheKeyAndLine) {
  auto error = mapping_error("[columns]\npatient.id = \"MRN\"\nobs.valeu = \"Value\"\n");
  EXPECT_EQ(error.code, ErrorCode::kConfig);
  EXPECT_EQ(error.message, "unknown field 'obs.valeu' in [columns]");
  EXPECT_EQ(error.location.file, "lab.toml");
  EXPECT_EQ(error.location.line, 3);
}

TEST(CsvMapping, UnknownCsvKeyAndUnknownTableAreErrors) {
  EXPECT_NE(mapping_error("[csv]\ndelimeter = \";\"\n[columns]\n" + std::string(kRequired))
                .message.find("unknown key 'csv.delimeter'"),
            std::string::npos);
  EXPECT_NE(mapping_error("[column]\n" + std::string(kRequired)).message.find("unknown table"),
            std::string::npos);
  EXPECT_EQ(mapping_error("[csv]\n").message, "mapping has no [columns] table");
}

TEST(CsvMapping, RequiredFieldsMustHaveColumns) {
  EXPECT_EQ(mapping_error("[columns]\nobs.code = \"T\"\nobs.value = \"V\"\n").message,
            "[columns] has no column for required field 'patient.id'");
  EXPECT_EQ(mapping_error("[columns]\npatient.id = \"M\"\nobs.value = \"V\"\n").message,
            "[columns] has no column for required field 'obs.code'");
  EXPECT_EQ(mapping_error("[columns]\npatient.id = \"M\"\nobs.code = \"T\"\n").message,
            "[columns] needs a column for 'obs.value' or 'obs.status'");
  EXPECT_TRUE(parse_mapping("[columns]\npatient.id = \"M\"\nobs.code = \"T\"\nobs.status = \"S\"\n",
                            "lab.toml"));
}

TEST(CsvMapping, ColumnValuesMatchTheHeaderSetting) {
  EXPECT_NE(mapping_error("[columns]\npatient.id = 1\nobs.code = \"T\"\nobs.value = \"V\"\n")
                .message.find("must be a header name"),
            std::string::npos);
  EXPECT_NE(mapping_error("[csv]\nheader = false\n[columns]\n" + std::string(kRequired))
                .message.find("must be a column number"),
            std::string::npos);
  EXPECT_NE(mapping_error("[csv]\nheader = false\n[columns]\npatient.id = 1\nobs.code = 2\n"
                          "obs.value = 513\n")
                .message.find("from 1 to 512"),
            std::string::npos);
  auto headerless = parse_mapping(
      "[csv]\nheader = false\n[columns]\npatient.id = 4\nobs.code = 1\nobs.value = 2\n",
      "lab.toml");
  ASSERT_TRUE(headerless);
  EXPECT_EQ(headerless->columns[0], (ColumnMapping{Field::kPatientId, "", 4}));
}

TEST(CsvMapping, OneColumnCannotFeedTwoFields) {
  auto error =
      mapping_error("[columns]\npatient.id = \"MRN\"\nobs.code = \"MRN\"\nobs.value = \"V\"\n");
  EXPECT_EQ(error.location.line, 3);
  EXPECT_NE(error.message.find("'patient.id' and 'obs.code' use the same column"),
            std::string::npos);
}

TEST(CsvMapping, BadDateFormatsAndDelimitersAreRejected) {
  auto with_csv = [](std::string csv) {
    return "[csv]\n" + csv + "\n[columns]\n" + std::string(kRequired);
  };
  EXPECT_NE(mapping_error(with_csv("date_format = \"%m/%d/%y\"")).message.find("%y"),
            std::string::npos);
  EXPECT_NE(mapping_error(with_csv("date_format = \"%Y-%m-%d %M\"")).message.find("%M but no %H"),
            std::string::npos);
  EXPECT_NE(mapping_error(with_csv("date_format = \"%m/%d\"")).message.find("needs %Y"),
            std::string::npos);
  EXPECT_NE(mapping_error(with_csv("date_format = \"%Y %I:%M\"")).message.find("%I and %p"),
            std::string::npos);
  EXPECT_EQ(mapping_error(with_csv("date_format = \"%Y%\"")).location.line, 2);
  EXPECT_NE(mapping_error(with_csv("delimiter = \";;\"")).message.find("csv.delimiter"),
            std::string::npos);
  EXPECT_NE(mapping_error(with_csv("delimiter = '\"'")).message.find("csv.delimiter"),
            std::string::npos);
  EXPECT_EQ(mapping_error(with_csv("header = \"yes\"")).message,
            "csv.header must be true or false");
}

TEST(CsvMapping, InvalidTomlIsAConfigErrorWithItsLine) {
  auto error = mapping_error("[csv]\ndelimiter = ,\n");
  EXPECT_EQ(error.code, ErrorCode::kConfig);
  EXPECT_EQ(error.location.line, 2);
  EXPECT_NE(error.message.find("not valid TOML"), std::string::npos);
}

TEST(CsvMapping, FieldNamesRoundTrip) {
  for (int i = 0; i < kFieldCount; ++i) {
    auto field = static_cast<Field>(i);
    std::string toml = "[columns]\npatient.id = \"MRN\"\nobs.code = \"T\"\nobs.status = \"S\"\n";
    if (field != Field::kPatientId && field != Field::kObsCode && field != Field::kObsStatus)
      toml += "\"" + std::string(field_name(field)) + "\" = \"X\"\n";
    auto mapping = parse_mapping(toml, "lab.toml");
    ASSERT_TRUE(mapping) << field_name(field) << ": " << mapping.error().to_string();
  }
  EXPECT_EQ(field_name(Field::kObsReferenceRange), "obs.reference_range");
}

}  // namespace
}  // namespace labvault::csv
