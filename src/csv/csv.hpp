// Lab results as CSV files (RFC 4180) <-> the canonical model, through a declared column
// mapping (a TOML file, see samples/csv/mapping.toml). One CSV row is one observation.
// Invariant: errors name the file, line, column and what was expected, never a cell's value.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"
#include "model/lab.hpp"

namespace labvault::csv {

// The model fields a column can carry, spelled in a mapping as field_name() returns them.
enum class Field {
  kPatientId,  // patient.id: the MRN; required
  kPatientIdAuthority,
  kPatientFamily,
  kPatientGiven,
  kPatientBirthDate,
  kPatientSex,
  kPatientPhone,
  kPatientAddressLine,
  kPatientCity,
  kPatientState,
  kPatientPostalCode,
  kOrderPlacer,
  kOrderFiller,  // the accession: rows of one patient with the same filler form one Report
  kOrderProviderId,
  kOrderProviderFamily,
  kOrderProviderGiven,
  kReportCode,
  kReportCodeSystem,
  kReportDisplay,
  kReportStatus,  // HL7 table 0123
  kReportObserved,
  kReportIssued,
  kSpecimenId,
  kSpecimenType,
  kSpecimenCollected,
  kSpecimenReceived,
  kObsCode,  // required
  kObsCodeSystem,
  kObsDisplay,
  kObsValue,  // obs.value or obs.status is required
  kObsValueType,
  kObsUnit,
  kObsReferenceRange,
  kObsFlags,
  kObsStatus,  // HL7 table 0085
  kObsObserved,
  kObsIssued,
  kObsNote,
};
inline constexpr int kFieldCount = static_cast<int>(Field::kObsNote) + 1;

// "patient.id", "obs.value"... the key used in a mapping's [columns] table.
[[nodiscard]] std::string_view field_name(Field field);

struct ColumnMapping {
  Field field;
  std::string name;  // header name when Mapping::header is true
  int number = 0;    // 1-based column number when Mapping::header is false
  bool operator==(const ColumnMapping&) const = default;
};

struct Mapping {
  char delimiter = ',';
  bool header = true;
  // "hl7" (YYYYMMDD[HHMM[SS]][+ZZZZ]), "iso" (YYYY-MM-DD[Thh:mm[:ss][Z|+hh:mm]]) or a
  // strftime-like pattern using %Y %m %d %H %M %S %I %p %z %%, e.g. "%m/%d/%Y %H:%M".
  std::string date_format = "hl7";
  std::string default_code_system = "LN";  // for obs.code and report.code without a system
  std::string sending_facility;            // MSH-4 of the messages read() builds
  std::vector<ColumnMapping> columns;      // in the order the mapping declares them
  bool operator==(const Mapping&) const = default;
};

// Parses a mapping file; every problem (unknown key, wrong type, missing required field, bad
// date_format) is a kConfig error naming the key and its line in `file_name`.
[[nodiscard]] model::Result<Mapping> parse_mapping(std::string_view toml_text,
                                                   std::string_view file_name);

// Reads a whole CSV file: one LabMessage (ORU^R01) per patient.id, one Report per
// (patient, order.filler or else order.placer) in order of first appearance. Stops at the
// first problem and returns only that error, with file, line and column.
[[nodiscard]] model::Result<std::vector<model::LabMessage>> read(std::string_view csv_text,
                                                                 const Mapping& mapping,
                                                                 std::string_view file_name);

// Writes one row per observation, a header row when the mapping has one, CRLF line ends.
// read() of the output with the same mapping gives back every field the mapping covers.
[[nodiscard]] std::string write(std::span<const model::LabMessage> messages,
                                const Mapping& mapping);

}  // namespace labvault::csv
