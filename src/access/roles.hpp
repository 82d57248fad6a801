// The roles a person can hold in a lab (issue 8's vocabulary). Administration is separate from
// care: a lab admin manages users and configuration of one lab but reads no PHI by that role;
// a system admin (a flag on the person, not a lab role) manages labs and lab admins.
#pragma once

#include <array>
#include <string_view>

namespace labvault::access {

inline constexpr std::string_view kLabAdmin = "lab-admin";

inline constexpr std::array<std::string_view, 10> kRoles = {
    "ordering-provider",      "care-team-clinician", "pathologist", "lab-technologist", "billing",
    "release-of-information", "privacy-officer",     kLabAdmin,     "researcher",       "patient"};

[[nodiscard]] constexpr bool is_role(std::string_view role) {
  for (std::string_view r : kRoles) {
    if (r == role) return true;
  }
  return false;
}

}  // namespace labvault::access
