// Shared by the csv module's tests: a mapping in the common shape and helpers that fail the
// test with the error's text (which carries no PHI) instead of crashing on a bad expected.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "csv/csv.hpp"

namespace labvault::csv::testing {

// Header: MRN,Last,First,DOB,Sex,Order,Accession,Panel,Test,Test Name,Value,Units,Range,
// Flags,Status,Comment (16 columns).
inline constexpr std::string_view kMappingToml = R"(
[csv]
date_format = "hl7"
sending_facility = "Example Lab"

[columns]
patient.id = "MRN"
patient.family = "Last"
patient.given = "First"
patient.birth_date = "DOB"
patient.sex = "Sex"
order.placer = "Order"
order.filler = "Accession"
report.code = "Panel"
obs.code = "Test"
obs.display = "Test Name"
obs.value = "Value"
obs.unit = "Units"
obs.reference_range = "Range"
obs.flags = "Flags"
obs.status = "Status"
obs.note = "Comment"
)";

inline constexpr std::string_view kHeader =
    "MRN,Last,First,DOB,Sex,Order,Accession,Panel,Test,Test Name,Value,Units,Range,Flags,Status,"
    "Comment\n";

inline Mapping mapping_from(std::string_view toml) {
  auto mapping = parse_mapping(toml, "test-mapping.toml");
  EXPECT_TRUE(mapping.has_value()) << (mapping ? "" : mapping.error().to_string());
  return mapping ? *mapping : Mapping{};
}

inline Mapping test_mapping() { return mapping_from(kMappingToml); }

inline std::vector<model::LabMessage> read_ok(std::string_view text, const Mapping& mapping) {
  auto messages = read(text, mapping, "results.csv");
  EXPECT_TRUE(messages.has_value()) << (messages ? "" : messages.error().to_string());
  return messages ? *messages : std::vector<model::LabMessage>{};
}

// Messages whose model a test changed after reading carry a control id (a digest of the content)
// that no longer matches; compare such messages with this.
inline std::vector<model::LabMessage> without_control_ids(std::vector<model::LabMessage> messages) {
  for (auto& m : messages) m.header.control_id.clear();
  return messages;
}

inline model::Error read_error(std::string_view text, const Mapping& mapping) {
  auto messages = read(text, mapping, "results.csv");
  EXPECT_FALSE(messages.has_value()) << "expected read() to fail";
  return messages ? model::Error{} : messages.error();
}

inline std::string source_file(const std::string& relative) {
  std::ifstream in(std::string(LABVAULT_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in.good()) << relative;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace labvault::csv::testing
