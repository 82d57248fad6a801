// Scalar HL7 values -> model: numbers (NM), reference ranges (OBX-7) and the report status
// derived from OBR-25 and the OBX statuses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/lab.hpp"

namespace labvault::hl7::internal {

// HL7 NM (2.A.47): optional sign, digits, optional decimal point.
[[nodiscard]] bool is_number(std::string_view s);
// The value of a string is_number accepted.
[[nodiscard]] double to_double(std::string_view s);
// OBX-7 as sent, with low/high when it reads "a-b", ">a" or "<b".
[[nodiscard]] model::ReferenceRange read_range(std::string text);
// OBR-25 when it is a table 0123 code, else what the OBX statuses say.
[[nodiscard]] model::ReportStatus report_status(std::string_view code,
                                                const std::vector<model::Observation>& obs);

}  // namespace labvault::hl7::internal
