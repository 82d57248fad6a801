// Cell <-> model conversions shared by the reader and the writer, for the HL7 tables a CSV
// spells as codes.
#pragma once

#include <optional>
#include <string_view>

#include "model/lab.hpp"

namespace labvault::csv::internal {

// HL7 table 0001 (F, M, O, U, A, N) or the words female, male, other, unknown, any case.
[[nodiscard]] std::optional<model::Sex> parse_sex(std::string_view text);

// HL7 table 0123 (OBR-25) to the report status, mapped as HL7's v2-to-FHIR ConceptMap does.
// The table 0123 code to write for a status when the sender's own code is not known.

// The OBX-2 value types a CSV column may declare.
[[nodiscard]] bool is_supported_value_type(std::string_view type);

}  // namespace labvault::csv::internal
