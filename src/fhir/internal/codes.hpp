// Vocabulary mappings between HL7 v2 (as the model keeps it) and FHIR R4: code system names to
// URIs, status and priority codes, interpretation flags, security labels, and the small
// identifier helpers both directions share. Every *_from_fhir function is the inverse of its
// forward twin where FHIR keeps the distinction. Private to src/fhir.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "model/lab.hpp"

namespace labvault::fhir::internal {

inline constexpr std::string_view kLoinc = "http://loinc.org";
inline constexpr std::string_view kUcum = "http://unitsofmeasure.org";
inline constexpr std::string_view kV2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203";
inline constexpr std::string_view kV2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074";
inline constexpr std::string_view kV3ActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
inline constexpr std::string_view kObservationCategory =
    "http://terminology.hl7.org/CodeSystem/observation-category";
inline constexpr std::string_view kDataAbsentReasonUrl =
    "http://hl7.org/fhir/StructureDefinition/data-absent-reason";

// HL7 v2 coding system name (LN, SCT, HL70487, L...) <-> FHIR Coding.system URI. Unknown names
// become "urn:labvault:codesystem:<name>" (percent-encoded) so the reverse recovers them; a name
// that already is a URI passes through both ways.
[[nodiscard]] std::string system_uri(std::string_view hl7_name);
[[nodiscard]] std::string system_name(std::string_view uri);

// Assigning authority (CX-4, XCN-9) <-> Identifier.system: an OID becomes urn:oid:<oid>, a URI
// stays, any other name becomes urn:labvault:assigner:<name>.
[[nodiscard]] std::string identifier_system(std::string_view authority);
[[nodiscard]] std::string authority_from_system(std::string_view system);

// A FHIR `code` has no leading/trailing whitespace and only single inner spaces (R4
// datatypes.html#code); HL7 fields sometimes carry padding, so codes are normalized this way.
[[nodiscard]] std::string fhir_code(std::string_view text);

[[nodiscard]] std::string_view observation_status(model::ResultStatus status);
// `ask_at_order_entry`: "unknown" on an AOE answer means HL7 "O" (order detail), elsewhere "N".
[[nodiscard]] std::optional<model::ResultStatus> result_status_from_fhir(std::string_view code,
                                                                         bool ask_at_order_entry);

[[nodiscard]] std::string_view report_status(model::ReportStatus status);
[[nodiscard]] std::optional<model::ReportStatus> report_status_from_fhir(std::string_view code);

[[nodiscard]] std::string_view gender(model::Sex sex);
[[nodiscard]] std::optional<model::Sex> sex_from_gender(std::string_view code);

// OBR-5/TQ1-9 priority (S, A, R, ...) <-> ServiceRequest.priority; "" when there is no match.
[[nodiscard]] std::string_view request_priority(std::string_view hl7);
[[nodiscard]] std::string_view priority_from_fhir(std::string_view code);

// ORC-1 order control <-> ServiceRequest.status (R4 valueset-request-status).
[[nodiscard]] std::string_view request_status(std::string_view order_control);
[[nodiscard]] std::string_view order_control_from_fhir(std::string_view status);

// The Coding.system for an OBX-8 abnormal flag: v3-ObservationInterpretation when the flag is
// one of its codes (every HL7 table 0078 code is one), else empty: the caller writes text.
[[nodiscard]] std::string_view interpretation_system(std::string_view flag);

struct SecurityLabel {
  std::string_view code, display;
};
// meta.security for a sensitive category; nullopt for kNone.
[[nodiscard]] std::optional<SecurityLabel> security_label(model::Sensitivity sensitivity);

// True when a unit written without a coding system is a UCUM unit labs commonly send.
[[nodiscard]] bool looks_like_ucum(std::string_view unit);

// HL7 0200 name type <-> HumanName.use, 0190 address type <-> Address.use/type, 0201/0202
// telecom use/equipment <-> ContactPoint.use/system. "" when there is no counterpart.
[[nodiscard]] std::string_view name_use(std::string_view hl7);
[[nodiscard]] std::string_view name_use_from_fhir(std::string_view use);
[[nodiscard]] std::string_view address_use(std::string_view hl7);
[[nodiscard]] std::string_view address_use_from_fhir(std::string_view use, std::string_view type);
[[nodiscard]] std::string_view telecom_use(std::string_view hl7);
[[nodiscard]] std::string_view telecom_use_from_fhir(std::string_view use);
[[nodiscard]] std::string_view telecom_system(std::string_view equipment);
[[nodiscard]] std::string_view telecom_equipment_from_fhir(std::string_view system);

// PV1-2 patient class <-> Encounter.class (a Coding, 1..1 in R4).
struct ClassCoding {
  std::string system, code;
};
[[nodiscard]] ClassCoding encounter_class(std::string_view patient_class);
[[nodiscard]] std::string patient_class_from_fhir(std::string_view system, std::string_view code);

// "urn:uuid:..." from a 128-bit FNV-1a hash of `seed`, formatted as a version 4 UUID. An
// identifier for Bundle.entry.fullUrl that is stable for the same input, not a secret.
[[nodiscard]] std::string deterministic_uuid(std::string_view seed);

}  // namespace labvault::fhir::internal
