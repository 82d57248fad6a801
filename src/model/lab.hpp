// The canonical lab domain: what labvault knows about a result, independent of the wire format
// (HL7 v2, FHIR, CSV) it arrived in. Every converter maps to and from these types, so a field
// exists here only if at least one format carries it and round trips must keep it.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "model/datetime.hpp"

namespace labvault::model {

// One code from a code system. `system` keeps the sender's HL7 name (LN, SCT, L, pCLOCD...);
// converters translate it to a URI where the target format needs one.
struct Coding {
  std::string code;
  std::string display;
  std::string system;
  std::string version;
  bool operator==(const Coding&) const = default;
};

struct CodeableConcept {
  std::vector<Coding> codings;  // HL7 CE/CWE: primary triplet first, then the alternate
  std::string original_text;    // CWE-9 / FHIR CodeableConcept.text
  [[nodiscard]] bool empty() const { return codings.empty() && original_text.empty(); }
  // The LOINC coding if any triplet is LOINC (LN, or pCLOCD which uses LOINC codes).
  [[nodiscard]] const Coding* loinc() const;
  bool operator==(const CodeableConcept&) const = default;
};

struct Identifier {
  std::string value;
  std::string assigning_authority;  // CX-4 namespace id or OID
  std::string type;                 // HL7 table 0203: MR, SS, PI...
  bool operator==(const Identifier&) const = default;
};

struct HumanName {
  std::string family;
  std::vector<std::string> given;  // first, then middle names
  std::string suffix, prefix;
  std::string use;  // HL7 table 0200 name type (L legal, M maiden...)
  bool operator==(const HumanName&) const = default;
};

struct Address {
  std::vector<std::string> lines;
  std::string city, state, postal_code, country;
  std::string use;  // HL7 table 0190 (H home, B business, M mailing...)
  bool operator==(const Address&) const = default;
};

struct ContactPoint {
  std::string value;      // as sent, or assembled from XTN area code + local number
  std::string use;        // HL7 table 0201 (PRN, WPN, ...)
  std::string equipment;  // HL7 table 0202 (PH, FX, Internet...)
  bool operator==(const ContactPoint&) const = default;
};

// A person who ordered, performed or verified: HL7 XCN / FHIR Practitioner.
struct Practitioner {
  std::string id;
  std::string assigning_authority;
  HumanName name;
  [[nodiscard]] bool empty() const {
    return id.empty() && name.family.empty() && name.given.empty();
  }
  bool operator==(const Practitioner&) const = default;
};

// An organization (performing lab, sending facility): HL7 HD / XON.
struct Organization {
  std::string name;
  std::string id;  // e.g. CLIA number or OID
  [[nodiscard]] bool empty() const { return name.empty() && id.empty(); }
  bool operator==(const Organization&) const = default;
};

enum class Sex { kUnknown, kFemale, kMale, kOther };  // HL7 table 0001 U/F/M/O (A, N -> other)

struct Lab {
  std::string id;  // labvault's id for the lab tenant
  std::string name;
  Organization facility;  // MSH-4 sending facility
  bool operator==(const Lab&) const = default;
};

struct Patient {
  std::vector<Identifier> identifiers;
  std::vector<HumanName> names;
  DateTime birth_date;
  Sex sex = Sex::kUnknown;
  std::vector<Address> addresses;
  std::vector<ContactPoint> phones;
  bool operator==(const Patient&) const = default;
};

struct Encounter {
  std::string patient_class;  // PV1-2, HL7 table 0004 (I, O, E...)
  std::string location;       // PV1-3 point of care, as one display string
  std::string visit_number;   // PV1-19
  Practitioner attending;     // PV1-7
  DateTime admitted;          // PV1-44
  [[nodiscard]] bool empty() const {
    return patient_class.empty() && location.empty() && visit_number.empty();
  }
  bool operator==(const Encounter&) const = default;
};

struct Specimen {
  std::string id;                     // SPM-2 (filler's specimen id) / FHIR accessionIdentifier
  CodeableConcept type;               // SPM-4
  CodeableConcept collection_method;  // SPM-7
  CodeableConcept source_site;        // SPM-8
  DateTime collected;                 // SPM-17.1 (or OBR-7 when there is no SPM)
  DateTime received;                  // SPM-18 (or OBR-14)
  bool operator==(const Specimen&) const = default;
};

// HL7 table 0085, the result status of one observation.
enum class ResultStatus {
  kPending,         // I: specimen in lab, result pending
  kPreliminary,     // P
  kFinal,           // F
  kCorrected,       // C
  kCancelled,       // X: result cannot be obtained
  kWrong,           // W: posted to the wrong patient/order
  kDeleted,         // D
  kNotAsked,        // N
  kOrderDetail,     // O: order detail (AOE), not a result
  kEntered,         // R: entered, not verified
  kPartial,         // S
  kFinalUnchanged,  // U: status changed to final without retransmitting the value
};

enum class Sensitivity { kNone, kHiv, kGenetic, kSubstanceUse, kBehavioralHealth, kSexualHealth };

struct NumericValue {
  std::string text;  // as sent ("98.0" keeps its precision)
  double value = 0;
  bool operator==(const NumericValue&) const = default;
};

// HL7 SN: [comparator] num1 [separator/suffix num2], e.g. ">^100000", "<=^2", "^1^:^128".
struct StructuredNumeric {
  std::string comparator;  // >, <, >=, <=, =, <>
  std::string num1;
  std::string separator;  // -, +, /, ., :
  std::string num2;
  bool operator==(const StructuredNumeric&) const = default;
};

struct TextValue {
  std::vector<std::string> lines;  // ST has one line; TX/FT repetitions are lines
  bool operator==(const TextValue&) const = default;
};

using ObservationValue =
    std::variant<std::monostate, NumericValue, StructuredNumeric, TextValue, CodeableConcept>;

struct ReferenceRange {
  std::string text;  // OBX-7 as sent, e.g. "3.1-9.7", "<10 ug/dL"
  std::optional<double> low, high;
  bool operator==(const ReferenceRange&) const = default;
};

// A superseded version of an observation, kept when a correction arrives.
struct ObservationVersion {
  ObservationValue value;
  ResultStatus status = ResultStatus::kFinal;
  DateTime observed;
  DateTime issued;
  bool operator==(const ObservationVersion&) const = default;
};

struct Observation {
  std::string set_id;                            // OBX-1
  std::string value_type;                        // OBX-2 as sent (NM, SN, CWE, ST, TX...)
  CodeableConcept code;                          // OBX-3
  std::string sub_id;                            // OBX-4
  ObservationValue value;                        // OBX-5
  Coding unit;                                   // OBX-6; code is UCUM where the sender used UCUM
  ReferenceRange reference_range;                // OBX-7
  std::vector<std::string> abnormal_flags;       // OBX-8, HL7 table 0078 (repeats)
  ResultStatus status = ResultStatus::kFinal;    // OBX-11
  DateTime observed;                             // OBX-14
  DateTime issued;                               // OBX-19 analysis time, else report time
  std::vector<Practitioner> performers;          // OBX-16 responsible observer
  Organization performing_lab;                   // OBX-23 (v2.5+) or OBX-15 producer's id
  std::vector<std::string> notes;                // NTE after the OBX
  Sensitivity sensitivity = Sensitivity::kNone;  // from configurable value sets, not the wire
  std::vector<ObservationVersion> history;       // oldest first; filled by apply_correction
  bool operator==(const Observation&) const = default;
};

// An order as placed: ORC + OBR order fields (OML^O21, and the order part of ORU^R01).
struct Order {
  std::string control;                          // ORC-1 (NW, RE, CA...)
  Identifier placer_order_number;               // ORC-2 / OBR-2
  Identifier filler_order_number;               // ORC-3 / OBR-3
  Identifier placer_group_number;               // ORC-4
  CodeableConcept service;                      // OBR-4 universal service identifier
  std::string priority;                         // OBR-5 / TQ1-9
  DateTime ordered;                             // ORC-9
  Practitioner ordering_provider;               // ORC-12 / OBR-16
  CodeableConcept reason;                       // OBR-31
  std::vector<Observation> ask_at_order_entry;  // OML OBX, or ORU OBX with OBX-29 = QST
  std::vector<Specimen> specimens;  // OML^O21 SPM; in ORU^R01 specimens belong to the Report
  std::vector<std::string> notes;
  bool operator==(const Order&) const = default;
};

enum class ReportStatus { kRegistered, kPartial, kPreliminary, kFinal, kCorrected, kCancelled };

// One OBR result group: FHIR DiagnosticReport.
struct Report {
  std::string set_id;              // OBR-1
  Identifier placer_order_number;  // OBR-2
  Identifier filler_order_number;  // OBR-3, the report's identity at the lab
  CodeableConcept service;         // OBR-4
  DateTime observed;               // OBR-7
  DateTime issued;                 // OBR-22 results report/status change
  std::string diagnostic_section;  // OBR-24 (HL7 table 0074)
  std::string result_status_code;  // OBR-25 as sent (table 0123), empty when absent
  ReportStatus status = ReportStatus::kFinal;
  CodeableConcept parent_result_code;             // OBR-26.1 observation the report hangs from
  std::string parent_result_sub_id;               // OBR-26.2
  std::string parent_result_text;                 // OBR-26.3
  Identifier parent_filler_order_number;          // OBR-29.2
  std::vector<Practitioner> result_interpreters;  // OBR-32
  std::vector<Observation> observations;
  std::vector<Specimen> specimens;
  std::vector<std::string> notes;  // NTE after the OBR
  bool operator==(const Report&) const = default;
};

// What one message carried, in model terms. A message holds one patient (labvault rejects
// multi-patient ORU^R01 rather than guessing).
struct MessageHeader {
  std::string sending_application, sending_facility;
  std::string receiving_application, receiving_facility;
  DateTime sent;
  std::string message_type, trigger_event;  // ORU R01, OML O21
  std::string control_id;                   // MSH-10
  std::string processing_id;                // MSH-11 (P, T, D)
  std::string version;                      // MSH-12
  bool operator==(const MessageHeader&) const = default;
};

struct LabMessage {
  MessageHeader header;
  Patient patient;
  Encounter encounter;
  std::vector<Order> orders;
  std::vector<Report> reports;  // empty for OML^O21
  std::vector<std::string> patient_notes;
  // Z-segments and other segments the model does not map, kept verbatim (re-encoded with
  // standard delimiters) so that an ORU written back carries them.
  std::vector<std::string> extra_segments;
  bool operator==(const LabMessage&) const = default;
};

[[nodiscard]] std::string_view to_hl7_code(ResultStatus s);
[[nodiscard]] std::optional<ResultStatus> result_status_from_hl7(std::string_view code);
// HL7 table 0123 (OBR-25) <-> ReportStatus. Y and Z (no order / no patient on record) and unknown
// codes give nullopt: the caller decides (the HL7 mapping derives the status from the OBX).
[[nodiscard]] std::optional<ReportStatus> report_status_from_hl7(std::string_view code);
[[nodiscard]] std::string_view to_hl7_code(ReportStatus s);
[[nodiscard]] std::string_view to_string(Sensitivity s);
[[nodiscard]] std::optional<Sensitivity> sensitivity_from_string(std::string_view s);
[[nodiscard]] std::string_view to_hl7_code(Sex s);
[[nodiscard]] Sex sex_from_hl7(std::string_view code);

// Folds a newer report for the same filler order into `current`: observations are matched by
// code (LOINC first) and sub-id; a changed value or status pushes the previous version onto
// the observation's history, so a correction (C) never erases what a clinician saw before.
void apply_correction(Report& current, const Report& incoming);

}  // namespace labvault::model
