// The demo lab that `labvault init --demo` creates: synthetic patients (names and numbers are
// invented), a CBC with a later correction, a metabolic panel and an HIV screen that the
// sensitivity rules mark as sensitive.
#pragma once

#include <string_view>
#include <vector>

namespace labvault::cli {

inline constexpr std::string_view kDemoLabCode = "DEMO";
inline constexpr std::string_view kDemoLabName = "Demo Clinical Laboratory";
inline constexpr std::string_view kDemoSender = "DEMO-ANALYZER^DEMOLAB";

[[nodiscard]] const std::vector<std::string_view>& demo_messages();

}  // namespace labvault::cli
