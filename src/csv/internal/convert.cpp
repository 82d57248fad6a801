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

bool is_supported_value_type(std::string_view type) {
  constexpr std::array<std::string_view, 7> kTypes = {"NM", "SN", "ST", "TX", "FT", "CWE", "CE"};
  return std::ranges::find(kTypes, type) != kTypes.end();
}

}  // namespace labvault::csv::internal
