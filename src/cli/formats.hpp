// Reading and writing lab data in any supported format, for convert, validate and (later)
// import. Everything here returns the model or an Error naming the file and place.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "csv/csv.hpp"
#include "model/lab.hpp"
#include "model/sensitivity.hpp"

namespace labvault::cli {

enum class Format { kHl7, kFhir, kCsv };

[[nodiscard]] std::optional<Format> format_from_name(std::string_view name);
// Guesses from the first bytes: '{' is FHIR JSON, MSH/FHS/BHS (after an optional BOM) is HL7.
[[nodiscard]] std::optional<Format> sniff_format(std::string_view bytes);

// Inputs above this are refused before reading (parsers need a few times the input in memory).
inline constexpr std::uintmax_t kMaxInputBytes = std::uintmax_t{512} << 20;
[[nodiscard]] model::Result<std::string> read_file(const std::filesystem::path& path);
// Writes a 0600 temporary file, fsyncs it and renames it over `path`: a failed conversion never
// leaves half a file, and the output (PHI) is never readable by others.
[[nodiscard]] model::Result<void> write_file_atomically(const std::filesystem::path& path,
                                                        std::string_view bytes);

// Everything in one input file, mapped to the model; `mapping` is required for CSV.
[[nodiscard]] model::Result<std::vector<model::LabMessage>> read_messages(
    std::string_view bytes, Format format, const std::string& file_name,
    const csv::Mapping* mapping);

// Every problem in one input file (empty when it is valid), and how many messages it holds.
struct Validation {
  size_t messages = 0;
  std::vector<model::Error> problems;
};
[[nodiscard]] Validation validate_bytes(std::string_view bytes, Format format,
                                        const std::string& file_name, const csv::Mapping* mapping);

// The sensitivity value sets: the shipped defaults, extended (or replaced) by the [sensitivity]
// table of a config file when one is given.
[[nodiscard]] model::Result<model::SensitivityRules> load_sensitivity(
    const std::optional<std::filesystem::path>& config);

}  // namespace labvault::cli
