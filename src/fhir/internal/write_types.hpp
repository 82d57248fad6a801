// Model values -> FHIR R4 data types (datatypes.html): Coding, CodeableConcept, Identifier,
// HumanName, Address, ContactPoint, Quantity, dates, and Observation.value[x]. Each returns a
// null json when there is nothing to write, because FHIR forbids empty elements (ele-1) and
// empty strings. Private to src/fhir.
#pragma once

#include <string>
#include <string_view>

#include "fhir/internal/json_io.hpp"
#include "model/lab.hpp"

namespace labvault::fhir::internal {

// Sets `key` only when `value` is not empty.
void set_string(OutJson& object, std::string_view key, std::string_view value);
// Sets `key` only when `value` is not null.
void set_json(OutJson& object, std::string_view key, OutJson value);
// Appends `value` to the array at `key` only when `value` is not null.
void append(OutJson& object, std::string_view key, OutJson value);

[[nodiscard]] OutJson reference(std::string_view url);

[[nodiscard]] OutJson coding(const model::Coding& coding);
[[nodiscard]] OutJson codeable(const model::CodeableConcept& cc);
// For elements FHIR requires (Observation.code, DiagnosticReport.code): an empty concept is
// written with the data-absent-reason extension instead of being left out.
[[nodiscard]] OutJson required_codeable(const model::CodeableConcept& cc);
// A CodeableConcept with one coding of `system`/`code`.
[[nodiscard]] OutJson concept_of(std::string_view system, std::string_view code,
                                 std::string_view display = {});

// `type_code` (HL7 table 0203: PLAC, FILL, VN...) overrides identifier.type when not empty.
[[nodiscard]] OutJson identifier(const model::Identifier& identifier,
                                 std::string_view type_code = {});
[[nodiscard]] OutJson human_name(const model::HumanName& name);
[[nodiscard]] OutJson address(const model::Address& address);
[[nodiscard]] OutJson contact_point(const model::ContactPoint& contact);

// FHIR dateTime / instant / date text, "" when the value cannot be written as that type (an
// instant needs a time; years outside 0001-9999 do not exist in FHIR).
[[nodiscard]] std::string date_time(const model::DateTime& value, int default_offset_minutes);
[[nodiscard]] std::string instant(const model::DateTime& value, int default_offset_minutes);
[[nodiscard]] std::string date(const model::DateTime& value);

// Sets value[x] of an Observation; returns false when the value is empty.
bool set_observation_value(OutJson& observation, const model::ObservationValue& value,
                           const model::Coding& unit);
// Observation.referenceRange entry, null when the range is empty.
[[nodiscard]] OutJson reference_range(const model::ReferenceRange& range,
                                      const model::Coding& unit);

}  // namespace labvault::fhir::internal
