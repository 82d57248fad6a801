// FHIR JSON -> model from inputs other systems send, the errors bad input gets, and
// OperationOutcome.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fhir/fhir.hpp"

namespace labvault::fhir {
namespace {

using nlohmann::json;

// A Bundle of `type` around `entries` (each {"fullUrl":..., "resource":...}).
std::string bundle(const json& entries, std::string_view type = "collection") {
  return json{{"resourceType", "Bundle"}, {"type", type}, {"entry", entries}}.dump();
}

json observation_json() {
  return json::parse(R"({
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}]},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2024-01-02T09:00:00-05:00",
    "valueQuantity": {"value": 5.20, "unit": "mmol/L", "system": "http://unitsofmeasure.org",
                      "code": "mmol/L"}
  })");
}

json patient_json(std::string_view id, std::string_view mrn) {
  return {{"resourceType", "Patient"},
          {"id", id},
          {"identifier", {{{"system", "urn:oid:1.2.3"}, {"value", mrn}}}}};
}

model::Error first_error(std::string_view input) {
  auto messages = from_json(input);
  EXPECT_FALSE(messages.has_value());
  return messages.has_value() ? model::Error{} : messages.error();
}

TEST(FhirRead, DecimalKeepsTheDigitsAsWritten) {
  auto messages = from_json(observation_json().dump());
  ASSERT_TRUE(messages.has_value()) << messages.error().to_string();
  const model::Observation& o = messages->at(0).reports.at(0).observations.at(0);
  // nlohmann's dump() would say 5.2; the raw text survives through the SAX parse.
  auto raw = from_json(R"({"resourceType":"Observation","status":"final","code":{"text":"x"},
                           "valueQuantity":{"value":5.20}})");
  ASSERT_TRUE(raw.has_value());
  const auto& value =
      std::get<model::NumericValue>(raw->at(0).reports.at(0).observations.at(0).value);
  EXPECT_EQ(value.text, "5.20");
  EXPECT_DOUBLE_EQ(value.value, 5.2);
  EXPECT_EQ(o.value_type, "NM");
  EXPECT_EQ(o.unit.code, "mmol/L");
  EXPECT_EQ(o.unit.system, "UCUM");
  EXPECT_EQ(o.code.codings.at(0).system, "LN");
}

TEST(FhirRead, SingleObservationBecomesAMessageWithOneReport) {
  auto messages = from_json(observation_json().dump());
  ASSERT_TRUE(messages.has_value());
  ASSERT_EQ(messages->size(), 1u);
  ASSERT_EQ(messages->at(0).reports.size(), 1u);
  EXPECT_EQ(messages->at(0).reports[0].status, model::ReportStatus::kFinal);
  EXPECT_EQ(messages->at(0).reports[0].observations[0].set_id, "1");
  EXPECT_EQ(messages->at(0).reports[0].observations[0].observed.hour, 9);
}

TEST(FhirRead, SearchsetReferencesResolveByTypeAndIdAndGroupByPatient) {
  json obs1 = observation_json();
  json obs2 = observation_json();
  obs2["subject"]["reference"] = "http://ehr.example/fhir/Patient/p2/_history/3";
  json report = {{"resourceType", "DiagnosticReport"},
                 {"status", "final"},
                 {"code", {{"text", "Panel"}}},
                 {"subject", {{"reference", "Patient/p1"}}},
                 {"result", {{{"reference", "Observation/o1"}}}}};
  obs1["id"] = "o1";
  json entries = {
      {{"fullUrl", "http://ehr.example/fhir/Patient/p1"}, {"resource", patient_json("p1", "M1")}},
      {{"fullUrl", "http://ehr.example/fhir/Patient/p2"}, {"resource", patient_json("p2", "M2")}},
      {{"fullUrl", "http://ehr.example/fhir/Observation/o1"}, {"resource", obs1}},
      {{"fullUrl", "http://ehr.example/fhir/Observation/o2"}, {"resource", obs2}},
      {{"fullUrl", "http://ehr.example/fhir/DiagnosticReport/r1"}, {"resource", report}},
      {{"fullUrl", "http://ehr.example/fhir/Claim/c1"}, {"resource", {{"resourceType", "Claim"}}}},
  };
  auto messages = from_json(bundle(entries, "searchset"));
  ASSERT_TRUE(messages.has_value()) << messages.error().to_string();
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ(messages->at(0).patient.identifiers.at(0).value, "M1");
  EXPECT_EQ(messages->at(0).patient.identifiers.at(0).assigning_authority, "1.2.3");
  ASSERT_EQ(messages->at(0).reports.size(), 1u);  // o1 inside the report; the Claim is skipped
  EXPECT_EQ(messages->at(0).reports[0].observations.size(), 1u);
  ASSERT_EQ(messages->at(1).reports.size(), 1u);  // o2 on its own, with patient p2
  EXPECT_EQ(messages->at(1).reports[0].observations.size(), 1u);
}

TEST(FhirRead, ResultsOfAnUnknownSubjectAmongSeveralPatientsGetTheirOwnMessage) {
  json orphan = observation_json();
  orphan["subject"]["reference"] = "Patient/elsewhere";
  json mine = observation_json();
  json entries = {{{"fullUrl", "urn:uuid:o1"}, {"resource", orphan}},
                  {{"fullUrl", "urn:uuid:p1"}, {"resource", patient_json("p1", "M1")}},
                  {{"fullUrl", "urn:uuid:p2"}, {"resource", patient_json("p2", "M2")}},
                  {{"fullUrl", "urn:uuid:o2"}, {"resource", mine}}};
  auto messages = from_json(bundle(entries));
  ASSERT_TRUE(messages.has_value()) << messages.error().to_string();
  ASSERT_EQ(messages->size(), 3u);
  EXPECT_EQ(messages->at(0).reports.size(), 1u);  // p1 (mine refers to Patient/p1)
  EXPECT_EQ(messages->at(1).reports.size(), 0u);  // p2
  EXPECT_TRUE(messages->at(2).patient.identifiers.empty());
  EXPECT_EQ(messages->at(2).reports.size(), 1u);  // the orphan, not given to a wrong patient
}

TEST(FhirRead, ASubjectNotInTheInputIsNeverGivenToTheOnlyPatient) {
  json orphan = observation_json();
  orphan["subject"]["reference"] = "Patient/b";
  json entries = {{{"fullUrl", "urn:uuid:p1"}, {"resource", patient_json("p1", "M1")}},
                  {{"fullUrl", "urn:uuid:o1"}, {"resource", orphan}}};
  auto messages = from_json(bundle(entries));
  ASSERT_TRUE(messages.has_value()) << messages.error().to_string();
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ(messages->at(0).reports.size(), 0u);  // M1 gets nothing of patient b
  EXPECT_TRUE(messages->at(1).patient.identifiers.empty());
  EXPECT_EQ(messages->at(1).reports.size(), 1u);
}

TEST(FhirRead, AReportListingAnotherPatientsResultIsRefused) {
  json theirs = observation_json();
  theirs["subject"]["reference"] = "Patient/p2";
  json report = {{"resourceType", "DiagnosticReport"},
                 {"status", "final"},
                 {"code", {{"text", "Panel"}}},
                 {"subject", {{"reference", "Patient/p1"}}},
                 {"result", {{{"reference", "urn:uuid:o2"}}}}};
  json entries = {{{"fullUrl", "urn:uuid:p1"}, {"resource", patient_json("p1", "M1")}},
                  {{"fullUrl", "urn:uuid:p2"}, {"resource", patient_json("p2", "M2")}},
                  {{"fullUrl", "urn:uuid:o2"}, {"resource", theirs}},
                  {{"fullUrl", "urn:uuid:r1"}, {"resource", report}}};
  model::Error e = first_error(bundle(entries));
  EXPECT_NE(e.message.find("another patient"), std::string::npos) << e.to_string();
  EXPECT_NE(e.location.json_path.find("result"), std::string::npos) << e.to_string();
}

TEST(FhirRead, PanelObservationsAreFlattenedToTheirMembers) {
  json member = observation_json();
  json panel = {{"resourceType", "Observation"},
                {"status", "final"},
                {"code", {{"text", "CBC"}}},
                {"hasMember", {{{"reference", "urn:uuid:m"}}, {{"reference", "urn:uuid:m"}}}}};
  json report = {{"resourceType", "DiagnosticReport"},
                 {"status", "final"},
                 {"code", {{"text", "CBC"}}},
                 {"result", {{{"reference", "urn:uuid:panel"}}}}};
  json entries = {{{"fullUrl", "urn:uuid:m"}, {"resource", member}},
                  {{"fullUrl", "urn:uuid:panel"}, {"resource", panel}},
                  {{"fullUrl", "urn:uuid:r"}, {"resource", report}}};
  auto messages = from_json(bundle(entries));
  ASSERT_TRUE(messages.has_value()) << messages.error().to_string();
  ASSERT_EQ(messages->at(0).reports.size(), 1u);
  EXPECT_EQ(messages->at(0).reports[0].observations.size(), 2u);
}

TEST(FhirRead, SelfReferencingPanelsStopInsteadOfLooping) {
  json panel = {{"resourceType", "Observation"},
                {"status", "final"},
                {"code", {{"text", "loop"}}},
                {"hasMember",
                 {{{"reference", "urn:uuid:p"}},
                  {{"reference", "urn:uuid:p"}},
                  {{"reference", "urn:uuid:p"}},
                  {{"reference", "urn:uuid:p"}}}}};
  json report = {{"resourceType", "DiagnosticReport"},
                 {"status", "final"},
                 {"code", {{"text", "x"}}},
                 {"result", {{{"reference", "urn:uuid:p"}}}}};
  std::string input = bundle({{{"fullUrl", "urn:uuid:p"}, {"resource", panel}},
                              {{"fullUrl", "urn:uuid:r"}, {"resource", report}}});
  auto errors = check_json(input);  // terminates; 4^4 expansions exceed the budget
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].code, model::ErrorCode::kParse);
}

TEST(FhirRead, WrongJsonTypeNamesPathAndTypesButNotTheValue) {
  json obs = observation_json();
  obs["valueQuantity"]["value"] = "CANARY-42";
  model::Error e = first_error(bundle({{{"fullUrl", "urn:uuid:1"}, {"resource", obs}}}));
  EXPECT_EQ(e.code, model::ErrorCode::kDataType);
  EXPECT_EQ(e.location.json_path, "Bundle.entry[0].resource.valueQuantity.value");
  EXPECT_EQ(e.message, "expected number, found string");
  EXPECT_EQ(e.to_string().find("CANARY"), std::string::npos);
}

TEST(FhirRead, MissingStatusIsARequiredFieldError) {
  json obs = observation_json();
  obs.erase("status");
  model::Error e = first_error(obs.dump());
  EXPECT_EQ(e.code, model::ErrorCode::kRequiredFieldMissing);
  EXPECT_EQ(e.location.json_path, "Observation.status");
}

TEST(FhirRead, UnknownStatusCodeIsATableValueErrorWithoutTheCode) {
  json obs = observation_json();
  obs["status"] = "CANARY";
  model::Error e = first_error(obs.dump());
  EXPECT_EQ(e.code, model::ErrorCode::kTableValue);
  EXPECT_EQ(e.location.json_path, "Observation.status");
  EXPECT_EQ(e.message.find("CANARY"), std::string::npos);
}

TEST(FhirRead, DateTimeWithoutZoneIsADataTypeError) {
  json obs = observation_json();
  obs["effectiveDateTime"] = "2024-01-02T09:00:00";
  model::Error e = first_error(obs.dump());
  EXPECT_EQ(e.code, model::ErrorCode::kDataType);
  EXPECT_EQ(e.location.json_path, "Observation.effectiveDateTime");
}

TEST(FhirRead, CheckJsonReportsEveryProblem) {
  json bad1 = observation_json();
  bad1["valueQuantity"]["value"] = true;
  json bad2 = observation_json();
  bad2.erase("code");
  auto errors = check_json(bundle({{{"resource", bad1}}, {{"resource", bad2}}, {{"resource", 7}}}));
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].location.json_path, "Bundle.entry[2].resource");  // indexing comes first
  EXPECT_EQ(errors[1].location.json_path, "Bundle.entry[0].resource.valueQuantity.value");
  EXPECT_EQ(errors[2].location.json_path, "Bundle.entry[1].resource.code");
  EXPECT_TRUE(check_json(observation_json().dump()).empty());
}

TEST(FhirRead, MalformedJsonIsAParseErrorThatQuotesNothing) {
  model::Error e = first_error(R"({"resourceType": "Observation", "status": CANARY})");
  EXPECT_EQ(e.code, model::ErrorCode::kParse);
  EXPECT_EQ(e.message.find("CANARY"), std::string::npos);
  EXPECT_EQ(first_error("").code, model::ErrorCode::kParse);
  EXPECT_EQ(first_error("[1,2]").code, model::ErrorCode::kParse);
}

TEST(FhirRead, NestingDeeperThan64LevelsIsRejected) {
  std::string deep = R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"x":)";
  for (int i = 0; i < 70; ++i) deep += "[";
  for (int i = 0; i < 70; ++i) deep += "]";
  deep += "}";
  model::Error e = first_error(deep);
  EXPECT_EQ(e.code, model::ErrorCode::kParse);
  EXPECT_NE(e.message.find("64"), std::string::npos);

  std::string shallow =
      R"({"resourceType":"Observation","status":"final","code":{"text":"x"},"x":)";
  for (int i = 0; i < 60; ++i) shallow += "[";
  for (int i = 0; i < 60; ++i) shallow += "]";
  shallow += "}";
  EXPECT_TRUE(from_json(shallow).has_value());
}

TEST(FhirRead, InputLargerThan64MibIsRejectedBeforeParsing) {
  std::string huge(kMaxJsonBytes + 1, ' ');
  model::Error e = first_error(huge);
  EXPECT_EQ(e.code, model::ErrorCode::kParse);
  EXPECT_NE(e.message.find("64 MiB"), std::string::npos);
}

TEST(FhirRead, UnsupportedRootsAndBundleTypesAreRejected) {
  EXPECT_EQ(first_error(R"({"resourceType":"Claim"})").code,
            model::ErrorCode::kUnsupportedMessageType);
  EXPECT_EQ(first_error(R"({"status":"final"})").code, model::ErrorCode::kRequiredFieldMissing);
  model::Error e = first_error(bundle(json::array(), "transaction-response"));
  EXPECT_EQ(e.code, model::ErrorCode::kUnsupportedMessageType);
  EXPECT_EQ(e.location.json_path, "Bundle.type");
  EXPECT_EQ(first_error(R"({"resourceType":"Bundle"})").location.json_path, "Bundle.type");
}

TEST(FhirRead, ContainedPractitionerResolvesAndEntriesWithoutResourceAreSkipped) {
  json obs = observation_json();
  obs["contained"] = {{{"resourceType", "Practitioner"},
                       {"id", "tech"},
                       {"identifier", {{{"system", "urn:labvault:assigner:NPI"}, {"value", "77"}}}},
                       {"name", {{{"family", "Tech"}}}}}};
  obs["performer"] = {{{"reference", "#tech"}}};
  json entries = {{{"request", {{"method", "DELETE"}, {"url", "Observation/9"}}}},
                  {{"fullUrl", "urn:uuid:o"}, {"resource", obs}}};
  auto messages = from_json(bundle(entries, "transaction"));
  ASSERT_TRUE(messages.has_value()) << messages.error().to_string();
  const model::Observation& o = messages->at(0).reports.at(0).observations.at(0);
  ASSERT_EQ(o.performers.size(), 1u);
  EXPECT_EQ(o.performers[0].id, "77");
  EXPECT_EQ(o.performers[0].assigning_authority, "NPI");
  EXPECT_EQ(o.performers[0].name.family, "Tech");
}

TEST(FhirRead, ReportWithOnlyBasedOnTakesTheOrderNumbers) {
  json request = {{"resourceType", "ServiceRequest"},
                  {"status", "active"},
                  {"intent", "order"},
                  {"subject", {{"reference", "urn:uuid:p"}}},
                  {"identifier",
                   {{{"type", {{"coding", {{{"code", "PLAC"}}}}}}, {"value", "PL-7"}},
                    {{"type", {{"coding", {{{"code", "FILL"}}}}}}, {"value", "FL-7"}}}}};
  json report = {{"resourceType", "DiagnosticReport"},
                 {"status", "partial"},
                 {"code", {{"text", "x"}}},
                 {"basedOn", {{{"reference", "urn:uuid:sr"}}}}};
  auto messages =
      from_json(bundle({{{"fullUrl", "urn:uuid:p"}, {"resource", patient_json("p", "M")}},
                        {{"fullUrl", "urn:uuid:sr"}, {"resource", request}},
                        {{"fullUrl", "urn:uuid:r"}, {"resource", report}}}));
  ASSERT_TRUE(messages.has_value()) << messages.error().to_string();
  ASSERT_EQ(messages->size(), 1u);
  const model::LabMessage& m = messages->at(0);
  ASSERT_EQ(m.orders.size(), 1u);
  EXPECT_EQ(m.orders[0].control, "NW");
  EXPECT_EQ(m.reports.at(0).filler_order_number.value, "FL-7");
  EXPECT_EQ(m.reports.at(0).placer_order_number.value, "PL-7");
  EXPECT_EQ(m.reports.at(0).status, model::ReportStatus::kPartial);
  EXPECT_EQ(m.reports.at(0).result_status_code, "A");
}

TEST(FhirRead, ValueKindsMapToModelValues) {
  auto value_of = [](const json& value_member) {
    json obs = observation_json();
    obs.erase("valueQuantity");
    obs.update(value_member);
    auto messages = from_json(obs.dump());
    EXPECT_TRUE(messages.has_value()) << messages.error().to_string();
    return messages ? messages->at(0).reports.at(0).observations.at(0) : model::Observation{};
  };
  model::Observation sn =
      value_of(json::parse(R"({"valueQuantity":{"value":2,"comparator":"<="}})"));
  EXPECT_EQ(sn.value_type, "SN");
  EXPECT_EQ(std::get<model::StructuredNumeric>(sn.value),
            (model::StructuredNumeric{"<=", "2", "", ""}));
  model::Observation ratio = value_of(
      json::parse(R"({"valueRatio":{"numerator":{"value":1},"denominator":{"value":128}}})"));
  EXPECT_EQ(std::get<model::StructuredNumeric>(ratio.value),
            (model::StructuredNumeric{"", "1", ":", "128"}));
  model::Observation range =
      value_of(json::parse(R"({"valueRange":{"low":{"value":2.0},"high":{"value":5}}})"));
  EXPECT_EQ(std::get<model::StructuredNumeric>(range.value),
            (model::StructuredNumeric{"", "2.0", "-", "5"}));
  model::Observation text = value_of(json::parse(R"({"valueString":"a\r\nb"})"));
  EXPECT_EQ(text.value_type, "TX");
  EXPECT_EQ(std::get<model::TextValue>(text.value).lines, (std::vector<std::string>{"a", "b"}));
  model::Observation none = value_of(json::object());
  EXPECT_TRUE(std::holds_alternative<std::monostate>(none.value));
  EXPECT_EQ(none.value_type, "");
}

TEST(FhirOperationOutcome, OneIssuePerErrorWithDiagnosticsAndExpression) {
  std::vector<model::Error> errors(2);
  errors[0] = {model::ErrorCode::kDataType, "expected number, found string", {}};
  errors[0].location.json_path = "Bundle.entry[3].resource.valueQuantity.value";
  errors[1] = {model::ErrorCode::kRequiredFieldMissing, "PID-3 is required", {}};
  json outcome = json::parse(operation_outcome(errors));
  EXPECT_EQ(outcome["resourceType"], "OperationOutcome");
  ASSERT_EQ(outcome["issue"].size(), 2u);
  EXPECT_EQ(outcome["issue"][0]["severity"], "error");
  EXPECT_EQ(outcome["issue"][0]["code"], "value");
  EXPECT_EQ(outcome["issue"][0]["diagnostics"], errors[0].to_string());
  EXPECT_EQ(outcome["issue"][0]["expression"][0], "Bundle.entry[3].resource.valueQuantity.value");
  EXPECT_EQ(outcome["issue"][1]["code"], "required");
  EXPECT_FALSE(outcome["issue"][1].contains("expression"));
}

TEST(FhirOperationOutcome, NoErrorsGiveOneInformationalIssue) {
  json outcome = json::parse(operation_outcome({}));
  ASSERT_EQ(outcome["issue"].size(), 1u);
  EXPECT_EQ(outcome["issue"][0]["severity"], "information");
  EXPECT_EQ(outcome["issue"][0]["code"], "informational");
}

}  // namespace
}  // namespace labvault::fhir
