// Which sensitive category (HIV, genetic, substance use, behavioral health, sexual health) a
// result belongs to, decided by value sets of codes. Policies mask these categories by default,
// so a code missing from a value set is a disclosure risk: deployments extend the shipped sets
// in the config ([sensitivity] table) rather than relying on the defaults alone.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "model/lab.hpp"

namespace labvault::model {

class SensitivityRules {
 public:
  // The value sets labvault ships: common LOINC codes of each category.
  [[nodiscard]] static SensitivityRules defaults();

  // `code` is a LOINC code, or "SYSTEM|code" for a local code (e.g. "L|1320").
  void add(Sensitivity category, std::string_view code);
  void clear();

  // An observation is sensitive if its own code is in a set, else if its report's service
  // (a panel such as a drug screen) is.
  [[nodiscard]] Sensitivity classify(const Observation& obs, const CodeableConcept& service) const;
  [[nodiscard]] Sensitivity classify(const CodeableConcept& code) const;
  // Sets Observation::sensitivity where a value set matches; a category already set (by the
  // sender) is kept when none does.
  void apply(LabMessage& message) const;

 private:
  std::unordered_map<std::string, Sensitivity> by_code_;
};

}  // namespace labvault::model
