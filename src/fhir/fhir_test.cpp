// model -> FHIR Bundle, the round trip back, and validation of the output against the official
// FHIR R4 JSON schema (tests/fhir_schema/validate.mjs).
#include "fhir/fhir.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "fhir/sample_messages_test.hpp"

namespace labvault::fhir {
namespace {

using nlohmann::json;
using testing::sample_result_message;
using testing::sample_second_message;

std::string bundle_text(const model::LabMessage& m, Options options = {}) {
  auto text = to_bundle(m, options);
  EXPECT_TRUE(text.has_value()) << (text ? "" : text.error().to_string());
  return text.value_or("{}");
}

json bundle_of(const model::LabMessage& m, Options options = {}) {
  return json::parse(bundle_text(m, options));
}

std::vector<json> resources(const json& bundle, std::string_view type) {
  std::vector<json> out;
  for (const json& entry : bundle["entry"])
    if (entry["resource"]["resourceType"] == type) out.push_back(entry["resource"]);
  return out;
}

// The Observation whose first coding has `code`.
json observation(const json& bundle, std::string_view code) {
  for (const json& o : resources(bundle, "Observation"))
    if (o["code"]["coding"][0]["code"] == code) return o;
  ADD_FAILURE() << "no Observation with code " << code;
  return json::object();
}

std::string url_of(const json& bundle, const json& resource) {
  for (const json& entry : bundle["entry"])
    if (entry["resource"] == resource) return entry["fullUrl"];
  return {};
}

TEST(FhirBundle, UnzonedTimesTakeTheMessageZoneAndResultsTheReportTime) {
  model::LabMessage m;
  m.header.sent = *model::DateTime::parse_hl7("20240102100000-0700");
  m.patient.identifiers.push_back({"M1", "LAB", "MR"});
  model::Report r;
  r.service.codings.push_back({"2345-7", "Glucose", "LN", ""});
  r.observed = *model::DateTime::parse_hl7("202401020900");  // OBR-7, no zone
  model::Observation o;
  o.code.codings.push_back({"2345-7", "Glucose", "LN", ""});
  o.value_type = "NM";
  o.value = model::NumericValue{"5.2", 5.2};
  r.observations.push_back(o);  // no OBX-14
  m.reports.push_back(r);
  auto text = to_bundle(m, Options{});
  ASSERT_TRUE(text) << text.error().to_string();
  // The Observation takes OBR-7 as its effective time, in the sender's zone from MSH-7.
  size_t n = 0;
  for (size_t pos = text->find("\"effectiveDateTime\": \"2024-01-02T09:00:00-07:00\"");
       pos != std::string::npos;
       pos = text->find("\"effectiveDateTime\": \"2024-01-02T09:00:00-07:00\"", pos + 1))
    ++n;
  EXPECT_EQ(n, 2u) << *text;  // the DiagnosticReport and its Observation
  auto utc = to_bundle(m, Options{.default_utc_offset_minutes = 0});
  ASSERT_TRUE(utc);
  EXPECT_NE(utc->find("2024-01-02T09:00:00Z"), std::string::npos);
}

TEST(FhirBundle, EveryEntryIsAPostWithADeterministicUuidFullUrl) {
  json b = bundle_of(sample_result_message());
  EXPECT_EQ(b["resourceType"], "Bundle");
  EXPECT_EQ(b["type"], "transaction");
  std::regex uuid("urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> urls;
  for (const json& entry : b["entry"]) {
    std::string url = entry["fullUrl"];
    EXPECT_TRUE(std::regex_match(url, uuid)) << url;
    urls.insert(url);
    EXPECT_EQ(entry["request"]["method"], "POST");
    EXPECT_EQ(entry["request"]["url"], entry["resource"]["resourceType"]);
    EXPECT_FALSE(entry["request"].contains("ifNoneExist"));
  }
  EXPECT_EQ(urls.size(), b["entry"].size());
  EXPECT_EQ(bundle_text(sample_result_message()), bundle_text(sample_result_message()));

  model::LabMessage other = sample_result_message();
  other.header.control_id = "MSG0002";
  EXPECT_NE(bundle_of(other)["entry"][0]["fullUrl"], b["entry"][0]["fullUrl"]);
}

TEST(FhirBundle, BundleHoldsOneResourcePerModelRecord) {
  json b = bundle_of(sample_result_message());
  EXPECT_EQ(resources(b, "Patient").size(), 1u);
  EXPECT_EQ(resources(b, "Encounter").size(), 1u);
  EXPECT_EQ(resources(b, "ServiceRequest").size(), 1u);
  EXPECT_EQ(resources(b, "DiagnosticReport").size(), 1u);
  EXPECT_EQ(resources(b, "Specimen").size(), 1u);
  EXPECT_EQ(resources(b, "Observation").size(), 7u);  // 6 results + 1 AOE answer
  // House is attending and ordering provider: one Practitioner, plus Tech and Path.
  EXPECT_EQ(resources(b, "Practitioner").size(), 3u);
  EXPECT_EQ(resources(b, "Organization").size(), 1u);
}

TEST(FhirBundle, PendingObservationHasRegisteredStatusAndNoValue) {
  json o = observation(bundle_of(sample_result_message()), "5794-3");
  EXPECT_EQ(o["status"], "registered");
  for (const auto& [key, value] : o.items()) EXPECT_FALSE(key.starts_with("value")) << key;
  EXPECT_FALSE(o.contains("dataAbsentReason"));
  EXPECT_FALSE(o.contains("issued"));
}

TEST(FhirBundle, CancelledObservationWithoutValueSaysWhyItIsAbsent) {
  model::LabMessage m = sample_result_message();
  m.reports[0].observations[5].status = model::ResultStatus::kCancelled;
  json o = observation(bundle_of(m), "5794-3");
  EXPECT_EQ(o["status"], "cancelled");
  EXPECT_EQ(o["dataAbsentReason"]["coding"][0]["code"], "not-performed");
}

TEST(FhirBundle, ResultStatusesMapToObservationStatus) {
  using S = model::ResultStatus;
  const std::pair<S, std::string_view> cases[] = {{S::kPending, "registered"},
                                                  {S::kPreliminary, "preliminary"},
                                                  {S::kEntered, "preliminary"},
                                                  {S::kPartial, "preliminary"},
                                                  {S::kFinal, "final"},
                                                  {S::kFinalUnchanged, "final"},
                                                  {S::kCorrected, "corrected"},
                                                  {S::kCancelled, "cancelled"},
                                                  {S::kWrong, "entered-in-error"},
                                                  {S::kDeleted, "entered-in-error"},
                                                  {S::kNotAsked, "unknown"}};
  for (auto [status, expected] : cases) {
    model::LabMessage m = sample_result_message();
    m.reports[0].observations[0].status = status;
    EXPECT_EQ(observation(bundle_of(m), "2345-7")["status"], expected);
  }
}

TEST(FhirBundle, NumericValueKeepsTheDigitsAsSent) {
  std::string text = bundle_text(sample_result_message());
  EXPECT_NE(text.find("\"value\": 98.0,"), std::string::npos);
  std::string second = bundle_text(sample_second_message());
  EXPECT_NE(second.find("\"value\": 5.20,"), std::string::npos);

  model::LabMessage m = sample_result_message();
  m.reports[0].observations[0].value = model::NumericValue{"+.5", 0.5};  // HL7 NM allows this
  json q = observation(bundle_of(m), "2345-7")["valueQuantity"];
  EXPECT_EQ(q["value"], 0.5);
  EXPECT_EQ(q["system"], "http://unitsofmeasure.org");
  EXPECT_EQ(q["code"], "mg/dL");
}

TEST(FhirBundle, StructuredNumericWithComparatorBecomesQuantityComparator) {
  json b = bundle_of(sample_result_message());
  json colonies = observation(b, "630-4")["valueQuantity"];
  EXPECT_EQ(colonies["comparator"], ">");
  EXPECT_EQ(colonies["value"], 100000);
  EXPECT_EQ(observation(b, "18864-9")["valueQuantity"]["comparator"], "<=");
}

TEST(FhirBundle, StructuredNumericRatioRangeAndOthersMapToTheirValueKinds) {
  auto value_of = [](model::StructuredNumeric sn) {
    model::LabMessage m = sample_result_message();
    m.reports[0].observations[1].value = sn;
    return observation(bundle_of(m), "630-4");
  };
  json ratio = value_of({"", "1", ":", "128"});
  EXPECT_EQ(ratio["valueRatio"]["numerator"]["value"], 1);
  EXPECT_EQ(ratio["valueRatio"]["denominator"]["value"], 128);
  json range = value_of({"", "2", "-", "5"});
  EXPECT_EQ(range["valueRange"]["low"]["value"], 2);
  EXPECT_EQ(range["valueRange"]["high"]["value"], 5);
  json equal = value_of({"=", "7", "", ""});
  EXPECT_EQ(equal["valueQuantity"]["value"], 7);
  EXPECT_FALSE(equal["valueQuantity"].contains("comparator"));
  EXPECT_EQ(value_of({"<>", "7", "", ""})["valueString"], "<>7");
  EXPECT_EQ(value_of({"", "2", "+", ""})["valueString"], "2+");
}

TEST(FhirBundle, TextLinesAreJoinedAndCodedValuesKeepTheirCodings) {
  json b = bundle_of(sample_result_message());
  EXPECT_EQ(observation(b, "48767-8")["valueString"], "line one\nline two\nline three");
  json color = observation(b, "5778-6")["valueCodeableConcept"]["coding"][0];
  EXPECT_EQ(color["system"], "http://snomed.info/sct");
  EXPECT_EQ(color["code"], "371244009");
  EXPECT_EQ(color["display"], "Yellow");
}

TEST(FhirBundle, CodeSystemNamesBecomeUris) {
  json b = bundle_of(sample_result_message());
  json service = resources(b, "ServiceRequest")[0];
  EXPECT_EQ(service["code"]["coding"][0]["system"], "http://loinc.org");
  EXPECT_EQ(service["code"]["coding"][1]["system"], "urn:labvault:codesystem:L");
  EXPECT_EQ(service["reasonCode"][0]["coding"][0]["system"], "http://hl7.org/fhir/sid/icd-10-cm");
  json specimen = resources(b, "Specimen")[0];
  EXPECT_EQ(specimen["collection"]["method"]["coding"][0]["system"],
            "http://terminology.hl7.org/CodeSystem/v2-0488");
}

TEST(FhirBundle, UnitIsTaggedUcumOnlyWhenItIsUcum) {
  auto quantity_with = [](model::Coding unit) {
    model::LabMessage m = sample_result_message();
    m.reports[0].observations[0].unit = unit;
    return observation(bundle_of(m), "2345-7")["valueQuantity"];
  };
  json sent_as_ucum = quantity_with({"mg/dL", "", "UCUM", ""});
  EXPECT_EQ(sent_as_ucum["system"], "http://unitsofmeasure.org");
  json looks_ucum = quantity_with({"10*3/uL", "", "", ""});
  EXPECT_EQ(looks_ucum["system"], "http://unitsofmeasure.org");
  json not_ucum = quantity_with({"10^9/L", "", "", ""});
  EXPECT_EQ(not_ucum["unit"], "10^9/L");
  EXPECT_FALSE(not_ucum.contains("system"));
  EXPECT_FALSE(not_ucum.contains("code"));  // qty-3: a code needs a system
}

TEST(FhirBundle, TimesCarryAZoneAndIssuedIsAnInstant) {
  model::LabMessage m = sample_result_message();
  model::Observation& glucose = m.reports[0].observations[0];
  glucose.observed.utc_offset_minutes.reset();
  glucose.issued.precision = model::DateTime::Precision::kMinute;
  glucose.issued.second = 0;
  glucose.issued.utc_offset_minutes.reset();
  Options options;
  options.default_utc_offset_minutes = 120;
  json o = observation(bundle_of(m, options), "2345-7");
  EXPECT_EQ(o["effectiveDateTime"], "2024-01-02T09:00:00+02:00");
  EXPECT_EQ(o["issued"], "2024-01-02T11:15:00+02:00");

  glucose.issued.precision = model::DateTime::Precision::kDay;  // not an instant
  EXPECT_FALSE(observation(bundle_of(m), "2345-7").contains("issued"));
}

TEST(FhirBundle, DefaultOffsetOutsideFhirRangeIsRejected) {
  Options options;
  options.default_utc_offset_minutes = 15 * 60;
  auto bundle = to_bundle(sample_result_message(), options);
  ASSERT_FALSE(bundle.has_value());
  EXPECT_EQ(bundle.error().code, model::ErrorCode::kConfig);
}

TEST(FhirBundle, InterpretationReferenceRangeAndNotesAreWritten) {
  json o = observation(bundle_of(sample_result_message()), "2345-7");
  EXPECT_EQ(o["interpretation"][0]["coding"][0]["code"], "N");
  EXPECT_EQ(o["interpretation"][0]["coding"][0]["system"],
            "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation");
  EXPECT_EQ(o["referenceRange"][0]["low"]["value"], 70.0);
  EXPECT_EQ(o["referenceRange"][0]["high"]["value"], 99.0);
  EXPECT_EQ(o["referenceRange"][0]["text"], "70-99");
  EXPECT_EQ(o["note"][0]["text"], "fasting sample");
  EXPECT_EQ(o["category"][0]["coding"][0]["code"], "laboratory");
}

TEST(FhirBundle, SensitiveResultsAndTheirReportCarrySecurityLabels) {
  model::LabMessage m = sample_result_message();
  m.reports[0].observations[0].sensitivity = model::Sensitivity::kHiv;
  m.reports[0].observations[1].sensitivity = model::Sensitivity::kBehavioralHealth;
  json b = bundle_of(m);
  json label = observation(b, "2345-7")["meta"]["security"][0];
  EXPECT_EQ(label["system"], "http://terminology.hl7.org/CodeSystem/v3-ActCode");
  EXPECT_EQ(label["code"], "HIV");
  EXPECT_EQ(observation(b, "630-4")["meta"]["security"][0]["code"], "BH");
  EXPECT_FALSE(observation(b, "5778-6").contains("meta"));
  EXPECT_EQ(resources(b, "DiagnosticReport")[0]["meta"]["security"].size(), 2u);
}

TEST(FhirBundle, PatientIdentifiersNameTheirAssignerWithoutPuttingMrnInUrls) {
  std::string text = bundle_text(sample_result_message());
  json b = json::parse(text);
  json patient = resources(b, "Patient")[0];
  EXPECT_EQ(patient["identifier"][0]["system"], "urn:oid:2.16.840.1.113883.3.72.5.30.2");
  EXPECT_EQ(patient["identifier"][0]["value"], "MRN12345");
  EXPECT_EQ(patient["identifier"][0]["type"]["coding"][0]["code"], "MR");
  EXPECT_EQ(patient["identifier"][1]["system"], "urn:labvault:assigner:Good%20Health%20Hospital");
  EXPECT_EQ(patient["gender"], "female");
  EXPECT_EQ(patient["birthDate"], "1970-03-04");
  for (const json& entry : b["entry"])
    EXPECT_EQ(entry["request"].dump().find("MRN12345"), std::string::npos);
}

TEST(FhirBundle, ReportLinksItsResultsSpecimenAndOrder) {
  json b = bundle_of(sample_result_message());
  json report = resources(b, "DiagnosticReport")[0];
  json request = resources(b, "ServiceRequest")[0];
  json specimen = resources(b, "Specimen")[0];
  EXPECT_EQ(report["status"], "final");
  EXPECT_EQ(report["basedOn"][0]["reference"], url_of(b, request));
  EXPECT_EQ(report["specimen"][0]["reference"], url_of(b, specimen));
  EXPECT_EQ(report["result"].size(), 6u);
  EXPECT_EQ(report["result"][0]["reference"], url_of(b, observation(b, "2345-7")));
  EXPECT_EQ(report["identifier"][0]["type"]["coding"][0]["code"], "FILL");
  EXPECT_EQ(report["category"][0]["coding"][0]["code"], "LAB");
  EXPECT_EQ(report["category"][1]["coding"][0]["code"], "CH");
  EXPECT_EQ(report["conclusion"], "Specimen slightly hemolyzed");
  EXPECT_EQ(observation(b, "2345-7")["specimen"]["reference"], url_of(b, specimen));
  EXPECT_EQ(specimen["accessionIdentifier"]["value"], "SP-1");
  EXPECT_EQ(specimen["collection"]["collectedDateTime"], "2024-01-02T09:00:00-05:00");
}

TEST(FhirBundle, OrderIsAServiceRequestWithItsAskAtOrderEntryAnswers) {
  json b = bundle_of(sample_result_message());
  json request = resources(b, "ServiceRequest")[0];
  EXPECT_EQ(request["status"], "completed");  // ORC-1 RE
  EXPECT_EQ(request["intent"], "order");
  EXPECT_EQ(request["priority"], "stat");
  EXPECT_EQ(request["identifier"][0]["type"]["coding"][0]["code"], "PLAC");
  EXPECT_EQ(request["identifier"][1]["type"]["coding"][0]["code"], "FILL");
  EXPECT_EQ(request["requisition"]["value"], "G-1");
  json aoe = observation(b, "49541-6");
  EXPECT_EQ(request["supportingInfo"][0]["reference"], url_of(b, aoe));
  EXPECT_FALSE(aoe.contains("category"));  // not a lab result

  model::LabMessage m = sample_result_message();
  m.orders[0].control = "NW";
  m.orders[0].priority = "R";
  json placed = resources(bundle_of(m), "ServiceRequest")[0];
  EXPECT_EQ(placed["status"], "active");
  EXPECT_EQ(placed["priority"], "routine");
}

TEST(FhirBundle, OrderSpecimensAndBirthTimeAreWrittenForAnOrderMessage) {
  json b = bundle_of(testing::sample_order_message());
  ASSERT_EQ(resources(b, "DiagnosticReport").size(), 0u);
  json request = resources(b, "ServiceRequest")[0];
  json specimen = resources(b, "Specimen")[0];
  EXPECT_EQ(request["specimen"][0]["reference"], url_of(b, specimen));
  EXPECT_EQ(specimen["request"][0]["reference"], url_of(b, request));
  json patient = resources(b, "Patient")[0];
  EXPECT_EQ(patient["birthDate"], "2026-02-23");
  EXPECT_EQ(patient["_birthDate"]["extension"][0]["valueDateTime"], "2026-02-23T06:27:05-05:00");
}

TEST(FhirBundle, EmptyRequiredCodeSaysItIsUnknown) {
  model::LabMessage m = sample_result_message();
  m.reports[0].service = {};
  json code = resources(bundle_of(m), "DiagnosticReport")[0]["code"];
  EXPECT_EQ(code["extension"][0]["url"],
            "http://hl7.org/fhir/StructureDefinition/data-absent-reason");
  EXPECT_FALSE(code.contains("coding"));
}

TEST(FhirBundle, SeveralMessagesKeepOnePatientEach) {
  std::vector<model::LabMessage> messages{sample_result_message(), sample_second_message()};
  auto text = to_bundle(messages, {});
  ASSERT_TRUE(text.has_value());
  json b = json::parse(*text);
  ASSERT_EQ(resources(b, "Patient").size(), 2u);
  std::string second_patient = url_of(b, resources(b, "Patient")[1]);
  EXPECT_EQ(observation(b, "4548-4")["subject"]["reference"], second_patient);
  std::set<std::string> urls;
  for (const json& entry : b["entry"]) urls.insert(entry["fullUrl"]);
  EXPECT_EQ(urls.size(), b["entry"].size());
}

// Clears what FHIR does not carry, so the comparison states what the round trip keeps.
model::LabMessage without_fhir_gaps(model::LabMessage m) {
  m.header = {};
  for (model::Report& r : m.reports)
    for (model::Observation& o : r.observations) {
      o.history.clear();  // versions live on the server, not in the Bundle
      o.sensitivity = model::Sensitivity::kNone;
    }
  return m;
}

TEST(FhirRoundTrip, BundleReadsBackAsTheSameMessage) {
  model::LabMessage original = sample_result_message();
  auto text = to_bundle(original, {});
  ASSERT_TRUE(text.has_value());
  auto messages = from_json(*text);
  ASSERT_TRUE(messages.has_value()) << messages.error().to_string();
  ASSERT_EQ(messages->size(), 1u);
  model::LabMessage expected = without_fhir_gaps(original);
  const model::LabMessage& got = messages->front();
  EXPECT_EQ(got.patient, expected.patient);
  EXPECT_EQ(got.encounter, expected.encounter);
  EXPECT_EQ(got.orders, expected.orders);
  ASSERT_EQ(got.reports.size(), 1u);
  const model::Report& report = got.reports[0];
  const model::Report& want = expected.reports[0];
  ASSERT_EQ(report.observations.size(), want.observations.size());
  for (std::size_t i = 0; i < want.observations.size(); ++i)
    EXPECT_EQ(report.observations[i], want.observations[i]) << "observation " << i;
  EXPECT_EQ(report.specimens, want.specimens);
  EXPECT_EQ(report, want);
}

TEST(FhirRoundTrip, SeveralMessagesComeBackAsSeveralMessages) {
  std::vector<model::LabMessage> originals{sample_result_message(), sample_second_message()};
  auto text = to_bundle(originals, {});
  ASSERT_TRUE(text.has_value());
  auto messages = from_json(*text);
  ASSERT_TRUE(messages.has_value()) << messages.error().to_string();
  ASSERT_EQ(messages->size(), 2u);
  EXPECT_EQ((*messages)[0], without_fhir_gaps(originals[0]));
  EXPECT_EQ((*messages)[1], without_fhir_gaps(originals[1]));
}

TEST(FhirRoundTrip, OrderMessageReadsBackWithItsSpecimenAndBirthTime) {
  model::LabMessage original = testing::sample_order_message();
  auto messages = from_json(bundle_text(original));
  ASSERT_TRUE(messages.has_value()) << messages.error().to_string();
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ(messages->front(), without_fhir_gaps(original));
}

TEST(FhirRoundTrip, SecurityLabelsReadBackAsSensitivity) {
  model::LabMessage m = sample_result_message();
  m.reports[0].observations[3].sensitivity = model::Sensitivity::kGenetic;
  auto messages = from_json(bundle_text(m));
  ASSERT_TRUE(messages.has_value());
  EXPECT_EQ(messages->front().reports[0].observations[3].sensitivity, model::Sensitivity::kGenetic);
  EXPECT_EQ(messages->front().reports[0].observations[0].sensitivity, model::Sensitivity::kNone);
}

// Runs tests/fhir_schema/validate.mjs; skips when Node or its ajv install is missing.
class FhirSchema : public ::testing::Test {
 protected:
  void SetUp() override {
    validator_ = std::filesystem::path(LABVAULT_SOURCE_DIR) / "tests/fhir_schema/validate.mjs";
    auto ajv = validator_.parent_path() / "node_modules/ajv/package.json";
    if (!std::filesystem::exists(ajv) || std::system("node --version > /dev/null 2>&1") != 0)
      GTEST_SKIP() << "run: npm install --prefix tests/fhir_schema";
    dir_ = std::filesystem::temp_directory_path() /
           ("labvault_fhir_schema_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    std::filesystem::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  int validate(const std::vector<std::string>& files) {
    std::string command = fmt::format("FHIR_SCHEMA='{}/fhir/fhir.schema.json' node '{}'",
                                      LABVAULT_TESTDATA, validator_.string());
    for (const std::string& f : files) command += " '" + f + "'";
    command += " > '" + (dir_ / "validator.log").string() + "' 2>&1";
    int status = std::system(command.c_str());
    std::ifstream log(dir_ / "validator.log");
    log_.assign(std::istreambuf_iterator<char>(log), {});
    return status;
  }
  std::filesystem::path validator_, dir_;
  std::string log_;
};

TEST_F(FhirSchema, EmittedBundlesAndOutcomesAreValidR4) {
  std::vector<model::LabMessage> both{sample_result_message(), sample_second_message()};
  model::LabMessage sensitive = sample_result_message();
  sensitive.reports[0].observations[0].sensitivity = model::Sensitivity::kSexualHealth;
  sensitive.reports[0].observations[5].status = model::ResultStatus::kCancelled;
  sensitive.reports[0].service = {};
  sensitive.encounter.patient_class = "B";
  std::vector<model::Error> errors(1);
  errors[0].message = "expected number, found string";
  errors[0].location.json_path = "Bundle.entry[3].resource.valueQuantity.value";
  std::vector<std::string> files{
      write("result.json", bundle_text(sample_result_message())),
      write("two.json", to_bundle(both, {}).value_or("")),
      write("sensitive.json", bundle_text(sensitive)),
      write("empty.json", bundle_text(model::LabMessage{})),
      write("order.json", bundle_text(testing::sample_order_message())),
      write("outcome.json", operation_outcome(errors)),
      write("ok_outcome.json", operation_outcome({})),
  };
  EXPECT_EQ(validate(files), 0) << log_;
}

TEST_F(FhirSchema, ValidatorRejectsABundleWithAnInvalidStatus) {
  json b = bundle_of(sample_result_message());
  for (json& entry : b["entry"])
    if (entry["resource"]["resourceType"] == "Observation") entry["resource"]["status"] = "bogus";
  EXPECT_NE(validate({write("broken.json", b.dump(2))}), 0);
  EXPECT_NE(log_.find("/status must be equal to one of the allowed values"), std::string::npos)
      << log_;
}

}  // namespace
}  // namespace labvault::fhir
