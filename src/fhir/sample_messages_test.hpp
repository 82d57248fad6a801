// Hand-built LabMessages for the fhir tests: one result message with every kind of value the
// model holds (NM, SN comparator, SN ratio-free "<=", CWE, TX of 3 lines, pending without a
// value), an order with an ask-at-order-entry answer, a specimen and practitioners.
// Test-only; names and numbers are invented.
#pragma once

#include "model/lab.hpp"

namespace labvault::fhir::testing {

inline model::DateTime at(int y, int mo, int d, int h, int mi, int s, int offset_minutes) {
  model::DateTime dt;
  dt.precision = model::DateTime::Precision::kSecond;
  dt.year = y, dt.month = mo, dt.day = d, dt.hour = h, dt.minute = mi, dt.second = s;
  dt.utc_offset_minutes = offset_minutes;
  return dt;
}

inline model::Coding loinc(std::string code, std::string display) {
  return {std::move(code), std::move(display), "LN", ""};
}

inline model::Coding ucum(std::string unit) { return {std::move(unit), "", "UCUM", ""}; }

inline model::Observation result(std::string set_id, std::string value_type, model::Coding code,
                                 model::ObservationValue value) {
  model::Observation o;
  o.set_id = std::move(set_id);
  o.value_type = std::move(value_type);
  o.code.codings.push_back(std::move(code));
  o.value = std::move(value);
  o.status = model::ResultStatus::kFinal;
  o.observed = at(2024, 1, 2, 9, 0, 0, -300);
  o.issued = at(2024, 1, 2, 11, 15, 42, -300);
  return o;
}

inline model::LabMessage sample_result_message() {
  model::LabMessage m;
  m.header = {"LIS", "ACME LAB", "EHR",     "GOOD HEALTH", at(2024, 1, 2, 11, 20, 0, -300),
              "ORU", "R01",      "MSG0001", "P",           "2.5.1"};

  m.patient.identifiers = {{"MRN12345", "2.16.840.1.113883.3.72.5.30.2", "MR"},
                           {"A998", "Good Health Hospital", "PI"}};
  m.patient.names = {{"Doe", {"Jane", "Q"}, "Jr", "Dr", "L"}};
  m.patient.birth_date.precision = model::DateTime::Precision::kDay;
  m.patient.birth_date.year = 1970, m.patient.birth_date.month = 3, m.patient.birth_date.day = 4;
  m.patient.sex = model::Sex::kFemale;
  m.patient.addresses = {{{"1 Main St", "Apt 2"}, "Ann Arbor", "MI", "48104", "USA", "H"}};
  m.patient.phones = {{"555-555-1234", "PRN", "PH"}};

  model::Practitioner house{"1234", "NPI", {"House", {"Greg"}, "", "", ""}};
  m.encounter = {"O", "Lab Clinic", "V100", house, at(2024, 1, 2, 8, 0, 0, -300)};

  model::Order order;
  order.control = "RE";
  order.placer_order_number = {"PL-1", "EHR", ""};
  order.filler_order_number = {"FL-1", "ACME", ""};
  order.placer_group_number = {"G-1", "EHR", ""};
  order.service.codings = {loinc("24356-8", "Urinalysis complete panel"),
                           {"UA", "Urinalysis", "L", ""}};
  order.priority = "S";
  order.ordered = at(2024, 1, 2, 8, 30, 0, -300);
  order.ordering_provider = house;
  order.reason.codings = {{"R31.9", "Hematuria, unspecified", "I10", ""}};
  model::Observation fasting;
  fasting.set_id = "1";
  fasting.value_type = "CWE";
  fasting.code.codings = {loinc("49541-6", "Fasting status - Reported")};
  fasting.value = model::CodeableConcept{{{"Y", "Yes", "HL70136", ""}}, ""};
  fasting.status = model::ResultStatus::kOrderDetail;
  order.ask_at_order_entry = {fasting};
  order.notes = {"Call on completion"};
  m.orders = {order};

  model::Report report;
  report.set_id = "1";
  report.placer_order_number = order.placer_order_number;
  report.filler_order_number = order.filler_order_number;
  report.service = order.service;
  report.observed = at(2024, 1, 2, 9, 0, 0, -300);
  report.issued = at(2024, 1, 2, 11, 15, 42, -300);
  report.diagnostic_section = "CH";
  report.result_status_code = "F";
  report.status = model::ReportStatus::kFinal;
  report.result_interpreters = {{"999", "NPI", {"Path", {"Olga"}, "", "", ""}}};
  model::Specimen specimen;
  specimen.id = "SP-1";
  specimen.type.codings = {{"122575003", "Urine specimen", "SCT", ""}};
  specimen.collection_method.codings = {{"CC", "Clean catch", "HL70488", ""}};
  specimen.source_site.original_text = "urethra";
  specimen.collected = at(2024, 1, 2, 9, 0, 0, -300);
  specimen.received = at(2024, 1, 2, 9, 30, 0, -300);
  report.specimens = {specimen};
  report.notes = {"Specimen slightly hemolyzed"};

  model::Observation glucose =
      result("1", "NM", loinc("2345-7", "Glucose"), model::NumericValue{"98.0", 98.0});
  glucose.unit = ucum("mg/dL");
  glucose.reference_range = {"70-99", 70.0, 99.0};
  glucose.abnormal_flags = {"N"};
  glucose.performers = {{"T1", "", {"Tech", {"Tom"}, "", "", ""}}};
  glucose.performing_lab = {"Acme Lab", "05D0000000"};
  glucose.notes = {"fasting sample"};

  model::Observation colonies = result("2", "SN", loinc("630-4", "Bacteria identified"),
                                       model::StructuredNumeric{">", "100000", "", ""});
  colonies.unit = ucum("{CFU}/mL");
  colonies.abnormal_flags = {"A"};
  colonies.status = model::ResultStatus::kPreliminary;

  model::Observation mic = result("3", "SN", loinc("18864-9", "Ampicillin [Susceptibility]"),
                                  model::StructuredNumeric{"<=", "2", "", ""});
  mic.unit = ucum("ug/mL");
  mic.abnormal_flags = {"S"};

  model::Observation color =
      result("4", "CWE", loinc("5778-6", "Color of Urine"),
             model::CodeableConcept{{{"371244009", "Yellow", "SCT", ""}}, ""});

  model::Observation comment = result("5", "TX", loinc("48767-8", "Annotation comment"),
                                      model::TextValue{{"line one", "line two", "line three"}});
  comment.status = model::ResultStatus::kCorrected;
  // What the clinician saw first: kept in the model, not written to FHIR (server-side history).
  comment.history = {{model::TextValue{{"first draft"}}, model::ResultStatus::kPreliminary,
                      comment.observed, comment.issued}};

  model::Observation pending =
      result("6", "", loinc("5794-3", "Hemoglobin [Presence] in Urine"), std::monostate{});
  pending.status = model::ResultStatus::kPending;
  pending.issued = {};

  report.observations = {glucose, colonies, mic, color, comment, pending};
  m.reports = {report};
  return m;
}

// A second, smaller message for another patient.
inline model::LabMessage sample_second_message() {
  model::LabMessage m;
  m.header.control_id = "MSG0002";
  m.patient.identifiers = {{"MRN777", "GH", "MR"}};
  m.patient.names = {{"Roe", {"Richard"}, "", "", ""}};
  m.patient.sex = model::Sex::kMale;
  model::Report report;
  report.set_id = "1";
  report.filler_order_number = {"FL-9", "ACME", ""};
  report.service.codings = {loinc("4548-4", "Hemoglobin A1c")};
  report.status = model::ReportStatus::kPreliminary;
  report.result_status_code = "P";
  model::Observation a1c =
      result("1", "NM", loinc("4548-4", "Hemoglobin A1c"), model::NumericValue{"5.20", 5.2});
  a1c.unit = ucum("%");
  a1c.status = model::ResultStatus::kPreliminary;
  report.observations = {a1c};
  m.reports = {report};
  return m;
}

// An order as OML^O21 carries it: no report, the specimen with the order.
inline model::LabMessage sample_order_message() {
  model::LabMessage m = sample_result_message();
  m.header.control_id = "OML0003";
  m.reports.clear();
  m.encounter = {};
  m.orders[0].control = "NW";
  m.orders[0].filler_order_number = {};
  model::Specimen serum;
  serum.id = "SP-700";
  serum.type.codings = {{"119364003", "Serum specimen", "SCT", ""}};
  serum.collected = at(2026, 11, 18, 8, 0, 0, 60);
  m.orders[0].specimens = {serum};
  // A newborn's time of birth, which FHIR keeps in the patient-birthTime extension.
  m.patient.birth_date = at(2026, 2, 23, 6, 27, 5, -300);
  return m;
}

}  // namespace labvault::fhir::testing
