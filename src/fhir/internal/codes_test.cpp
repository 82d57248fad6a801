// Vocabulary mappings and the JSON number/uuid helpers of the fhir module.
#include "fhir/internal/codes.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "fhir/internal/json_io.hpp"

namespace labvault::fhir::internal {
namespace {

TEST(FhirCodes, CodeSystemNamesMapToUrisAndBack) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"LN", "http://loinc.org"},
      {"SCT", "http://snomed.info/sct"},
      {"UCUM", "http://unitsofmeasure.org"},
      {"HL70487", "http://terminology.hl7.org/CodeSystem/v2-0487"},
      {"I9CDX", "http://hl7.org/fhir/sid/icd-9-cm"},
      {"I10", "http://hl7.org/fhir/sid/icd-10-cm"},
      {"HGNC", "http://www.genenames.org/geneId"},
      {"L", "urn:labvault:codesystem:L"},
      {"99zzz", "urn:labvault:codesystem:99zzz"},
      {"My Local", "urn:labvault:codesystem:My%20Local"},
      {"http://acme.example/codes", "http://acme.example/codes"},
  };
  for (auto [name, uri] : cases) {
    EXPECT_EQ(system_uri(name), uri) << name;
    EXPECT_EQ(system_name(uri), name) << uri;
  }
  EXPECT_EQ(system_uri("pCLOCD"), "http://loinc.org");  // LOINC codes under another name
  EXPECT_EQ(system_uri(""), "");
  EXPECT_EQ(system_uri("HL7007"), "urn:labvault:codesystem:HL7007");  // not a table number
}

TEST(FhirCodes, AssigningAuthorityBecomesIdentifierSystemAndBack) {
  EXPECT_EQ(identifier_system("2.16.840.1.113883.19"), "urn:oid:2.16.840.1.113883.19");
  EXPECT_EQ(authority_from_system("urn:oid:2.16.840.1.113883.19"), "2.16.840.1.113883.19");
  EXPECT_EQ(identifier_system("Good Health"), "urn:labvault:assigner:Good%20Health");
  EXPECT_EQ(authority_from_system("urn:labvault:assigner:Good%20Health"), "Good Health");
  EXPECT_EQ(identifier_system("1..2"), "urn:labvault:assigner:1..2");  // not an OID
  EXPECT_EQ(identifier_system(""), "");
}

TEST(FhirCodes, CodesLoseOuterAndRepeatedWhitespace) {
  EXPECT_EQ(fhir_code("  mg/dL "), "mg/dL");
  EXPECT_EQ(fhir_code("a \t b"), "a b");
  EXPECT_EQ(fhir_code(" \t"), "");
}

TEST(FhirCodes, StatusesHaveSensibleInverses) {
  for (auto s : {model::ResultStatus::kPending, model::ResultStatus::kPreliminary,
                 model::ResultStatus::kFinal, model::ResultStatus::kCorrected,
                 model::ResultStatus::kCancelled, model::ResultStatus::kWrong})
    EXPECT_EQ(result_status_from_fhir(observation_status(s), false), s);
  EXPECT_EQ(result_status_from_fhir("unknown", true), model::ResultStatus::kOrderDetail);
  EXPECT_EQ(result_status_from_fhir("amended", false), model::ResultStatus::kCorrected);
  EXPECT_EQ(result_status_from_fhir("bogus", false), std::nullopt);
  for (auto r : {model::ReportStatus::kRegistered, model::ReportStatus::kPartial,
                 model::ReportStatus::kPreliminary, model::ReportStatus::kFinal,
                 model::ReportStatus::kCorrected, model::ReportStatus::kCancelled})
    EXPECT_EQ(report_status_from_fhir(report_status(r)), r);
}

TEST(FhirCodes, SecurityLabelsAreActCodeSensitivityCodes) {
  EXPECT_EQ(security_label(model::Sensitivity::kHiv)->code, "HIV");
  EXPECT_EQ(security_label(model::Sensitivity::kGenetic)->code, "GDIS");
  EXPECT_EQ(security_label(model::Sensitivity::kSubstanceUse)->code, "ETH");
  EXPECT_EQ(security_label(model::Sensitivity::kBehavioralHealth)->code, "BH");
  EXPECT_EQ(security_label(model::Sensitivity::kSexualHealth)->code, "STD");
  EXPECT_FALSE(security_label(model::Sensitivity::kNone).has_value());
}

TEST(FhirJson, DecimalsAreMadeValidJsonWithoutLosingDigits) {
  EXPECT_EQ(json_decimal("98.0"), "98.0");
  EXPECT_EQ(json_decimal("-0.50"), "-0.50");
  EXPECT_EQ(json_decimal("+5"), "5");
  EXPECT_EQ(json_decimal(".5"), "0.5");
  EXPECT_EQ(json_decimal("5."), "5");
  EXPECT_EQ(json_decimal("007"), "7");
  EXPECT_EQ(json_decimal("1.5E3"), "1.5e3");
  EXPECT_EQ(json_decimal(" 12 "), "12");
  for (std::string_view bad : {"", "-", ".", "1,5", "1.2.3", "e5", "1e", "0x10", "NaN", "12a"})
    EXPECT_EQ(json_decimal(bad), std::nullopt) << bad;
}

TEST(FhirJson, RawNumbersAreWrittenVerbatim) {
  OutJson doc = OutJson::object();
  doc["value"] = raw_number("5.20");
  doc["text"] = "a\"b";
  EXPECT_EQ(write_pretty(doc), "{\n  \"value\": 5.20,\n  \"text\": \"a\\\"b\"\n}\n");
}

TEST(FhirJson, InvalidUtf8IsReplacedNotFatal) {
  OutJson doc = OutJson::object();
  doc["text"] = std::string("caf\xe9");  // Latin-1, as some HL7 senders write
  EXPECT_NE(write_pretty(doc).find("caf\xef\xbf\xbd"), std::string::npos);
}

TEST(FhirIds, UuidsAreStableVersion4ShapedAndDistinct) {
  std::regex shape("urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::string a = deterministic_uuid("MSG1;Patient;0");
  EXPECT_TRUE(std::regex_match(a, shape)) << a;
  EXPECT_EQ(a, deterministic_uuid("MSG1;Patient;0"));
  EXPECT_NE(a, deterministic_uuid("MSG1;Patient;1"));
  EXPECT_NE(a, deterministic_uuid(""));
}

}  // namespace
}  // namespace labvault::fhir::internal
