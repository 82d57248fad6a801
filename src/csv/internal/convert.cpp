#include "csv/internal/convert.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace labvault::csv::internal {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<model::Sex> parse_sex(std::string_view text) {
  std::string s = lower(text);
  if (s == "f" || s == "female") return model::Sex::kFemale;
  if (s == "m" || s == "male") return model::Sex::kMale;
  if (s == "o" || s == "a" || s == "n" || s == "other") return model::Sex::kOther;
  if (s.empty() || s == "u" || s == "unknown") return model::Sex::kUnknown;
  return std::nullopt;
}

std::optional<model::ReportStatus> report_status_from_hl7(std::string_view code) {
  using model::ReportStatus;
  if (code == "O" || code == "I" || code == "S") return ReportStatus::kRegistered;
  if (code == "A" || code == "R") return ReportStatus::kPartial;
  if (code == "P") return ReportStatus::kPreliminary;
  if (code == "F") return ReportStatus::kFinal;
  if (code == "C") return ReportStatus::kCorrected;
  if (code == "X") return ReportStatus::kCancelled;
  return std::nullopt;
}

std::string_view to_hl7_code(model::ReportStatus status) {
  switch (status) {
    case model::ReportStatus::kRegistered:
      return "I";
    case model::ReportStatus::kPartial:
      return "A";
    case model::ReportStatus::kPreliminary:
      return "P";
    case model::ReportStatus::kFinal:
      return "F";
    case model::ReportStatus::kCorrected:
      return "C";
    case model::ReportStatus::kCancelled:
      return "X";
  }
  return "F";
}

bool is_supported_value_type(std::string_view type) {
  constexpr std::array<std::string_view, 7> kTypes = {"NM", "SN", "ST", "TX", "FT", "CWE", "CE"};
  return std::ranges::find(kTypes, type) != kTypes.end();
}

}  // namespace labvault::csv::internal
