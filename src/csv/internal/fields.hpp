// What the reader and writer need to know about each mapped field besides its name.
#pragma once

#include <optional>
#include <string_view>

#include "csv/csv.hpp"

namespace labvault::csv::internal {

// The model object a field fills: rows are grouped by patient, then by report, and every
// field above the observation must agree across the rows of its group.
enum class Level { kPatient, kReport, kSpecimen, kObservation };

struct FieldInfo {
  Field field;
  std::string_view name;
  Level level;
  bool free_text;  // kept exactly as sent; other cells lose surrounding spaces and tabs
};

[[nodiscard]] const FieldInfo& field_info(Field field);
[[nodiscard]] std::optional<Field> field_from_name(std::string_view name);

}  // namespace labvault::csv::internal
