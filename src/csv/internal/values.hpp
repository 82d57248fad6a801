// How one CSV cell spells an HL7 value: NM numbers, SN structured numerics, CWE codes, OBX-7
// reference ranges and OBX-8 flags, and the spreadsheet formula guard. Each parse_* has a
// format_* that parse_* reads back to the same model value.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/lab.hpp"

namespace labvault::csv::internal {

// Spaces and tabs around a cell are not part of a code, number or date.
[[nodiscard]] std::string_view trim(std::string_view text);

// HL7 v2.5.1 2.A.47 NM: an optional sign, digits, an optional decimal point and digits.
[[nodiscard]] bool is_hl7_number(std::string_view text);
[[nodiscard]] std::optional<model::NumericValue> parse_numeric(std::string_view text);

// HL7 v2.5.1 2.A.73 SN, either as HL7 components ("<=^2", "^1^:^128") or written together
// the way spreadsheets show it (">100000", "<=2", "1:128").
[[nodiscard]] std::optional<model::StructuredNumeric> parse_structured_numeric(
    std::string_view text);
[[nodiscard]] std::string format_structured_numeric(const model::StructuredNumeric& sn);

// HL7 CWE components code^text^system^alt-code^alt-text^alt-system^version^alt-version^
// original-text; a cell without carets is a code alone, as in an OBX-5 of type CWE.
[[nodiscard]] model::CodeableConcept parse_coded_value(std::string_view text);
[[nodiscard]] std::string format_coded_value(const model::CodeableConcept& concept_value);

// OBX-7 text kept as sent; low/high filled from "3.1-9.7", "<10", ">=5", "<10 ug/dL".
[[nodiscard]] model::ReferenceRange parse_reference_range(std::string_view text);
[[nodiscard]] std::string format_reference_range(const model::ReferenceRange& range);

// OBX-8 repeats: flags separated by "~" (the HL7 repetition separator) or ";".
[[nodiscard]] std::vector<std::string> split_flags(std::string_view text);

// Spreadsheet formula injection (OWASP "CSV Injection"): Excel, LibreOffice and Sheets run a
// cell that starts with = + - @ (and, after their own trimming, tab or CR) as a formula, so a
// result comment like "=HYPERLINK(...)" would become a live link in a clinician's sheet. A
// leading apostrophe makes them show the text instead. Numbers ("-5") are left alone because
// they are not formulas and must stay numeric. Cells that already start with apostrophes
// before such a character get one more, so read() can strip exactly one and round trip.
[[nodiscard]] bool needs_formula_guard(std::string_view cell);
[[nodiscard]] std::string_view strip_formula_guard(std::string_view cell);

}  // namespace labvault::csv::internal
