// FHIR R4 JSON <-> canonical lab model: a LabMessage becomes a transaction Bundle of Patient,
// Encounter, Specimen, ServiceRequest, Observation and DiagnosticReport, and FHIR JSON from an EHR
// or LIS becomes LabMessages again.
// Invariant: errors and OperationOutcomes never carry PHI; they name JSON paths, expected types
// and found types, never the values.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"
#include "model/lab.hpp"

namespace labvault::fhir {

struct Options {
  // R4 datatypes.html#dateTime: "If hours and minutes are specified, a time zone SHALL be
  // populated". Used for model times that carry no offset; -14:00 to +14:00. When unset, each
  // message's MSH-7 offset is used (HL7 times without an offset are in the sender's zone), else
  // UTC.
  std::optional<int> default_utc_offset_minutes;
};

// Inputs bigger or deeper than this are rejected before any mapping (kParse).
inline constexpr std::size_t kMaxJsonBytes = 64u << 20;
inline constexpr int kMaxJsonDepth = 64;

// A pretty-printed transaction Bundle; the same input always gives the same text (entry ids are
// derived from the message, not random). Fails only on invalid Options (kConfig).
[[nodiscard]] model::Result<std::string> to_bundle(const model::LabMessage& message,
                                                   const Options& options);
// Several messages in one transaction Bundle, each with its own Patient.
[[nodiscard]] model::Result<std::string> to_bundle(std::span<const model::LabMessage> messages,
                                                   const Options& options);

// Reads a Bundle (transaction, batch, collection, searchset, message, document) or a single
// Observation, DiagnosticReport, Patient, ServiceRequest or Specimen. One LabMessage per Patient
// in the input; records whose subject is not in the input go to the only Patient, or, when
// there are none or several, to a LabMessage with an empty Patient. MessageHeader stays empty.
// Observation::sensitivity comes from meta.security labels the sender set (kNone otherwise);
// callers still apply their SensitivityRules. The error is the first problem found;
// location.json_path says where.
[[nodiscard]] model::Result<std::vector<model::LabMessage>> from_json(std::string_view json);

// Every problem from_json would find (empty when the input maps cleanly), at most one per JSON
// path; for `labvault validate`, which reports all problems rather than the first.
[[nodiscard]] std::vector<model::Error> check_json(std::string_view json);

// An OperationOutcome: one issue per error with diagnostics = error.to_string() and expression =
// the JSON path when known; one "informational" issue when `errors` is empty (R4
// operationoutcome.html: issue is 1..*).
[[nodiscard]] std::string operation_outcome(std::span<const model::Error> errors);

}  // namespace labvault::fhir
