// What the reader gathers per patient and per report before it builds the model: the first
// text of every patient- and report-level field (to catch rows that disagree), and the
// observations and specimens in row order.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "csv/csv.hpp"
#include "csv/internal/date_format.hpp"

namespace labvault::csv::internal {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
// Looked up with string_views, so grouping a row does not allocate a key.
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// The text a field was first given in its group and the line it came from; line 0 = unset.
struct Slot {
  std::string text;
  int line = 0;
};
using Slots = std::array<Slot, kFieldCount>;

struct ReportGroup {
  Slots slots;
  std::vector<model::Observation> observations;
  std::vector<model::Specimen> specimens;
  StringMap<bool> specimen_seen;
};

struct PatientGroup {
  std::string id;
  int first_line = 0;
  Slots slots;
  std::vector<ReportGroup> reports;
  StringMap<std::size_t> report_index;
};

// One ORU^R01 LabMessage for the patient: a Report and an Order per report group. The slots'
// texts were checked when first seen, so building cannot fail.
[[nodiscard]] model::LabMessage build_message(PatientGroup&& group, const Mapping& mapping,
                                              const DateFormat& dates, std::string_view file_name);

}  // namespace labvault::csv::internal
