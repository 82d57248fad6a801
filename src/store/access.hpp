// The access half of the Store port: facts the policy decision point needs at request time
// (care-team assignments, break-glass and unmask grants) and the break-glass review queue.
// Invariant: no free text here; a grant's reason lives (sealed) in the audit record it names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"

namespace labvault::store {

using Id = std::int64_t;

struct CareAssignment {
  Id id = 0;
  Id user = 0, lab = 0, patient = 0;
  std::int64_t valid_from_us = 0, valid_until_us = 0;
  std::string assigned_by;  // actor id
};

struct AccessGrant {
  Id id = 0;
  std::string kind;  // "break-glass" or "unmask"
  Id user = 0, lab = 0, patient = 0;
  std::string category;  // unmask: a sensitivity code
  std::uint64_t audit_seq = 0;
  std::int64_t granted_us = 0, expires_us = 0;
  std::int64_t reviewed_us = 0;  // 0: not reviewed
  std::string reviewer, disposition;
};

class AccessStore {
 public:
  virtual ~AccessStore() = default;
  [[nodiscard]] virtual model::Result<Id> add_care_assignment(const CareAssignment& a) = 0;
  // An assignment of `user` to `patient` in `lab` valid at `now_us`.
  [[nodiscard]] virtual model::Result<bool> has_care_relationship(Id user, Id lab, Id patient,
                                                                  std::int64_t now_us) = 0;
  // Links a person (patient role) to their own record in a lab, replacing an earlier link.
  [[nodiscard]] virtual model::Result<void> link_patient(Id user, Id lab, Id patient,
                                                         std::string_view linked_by) = 0;
  // The person's own record in the lab, 0 when not linked.
  [[nodiscard]] virtual model::Result<Id> linked_patient(Id user, Id lab) = 0;
  [[nodiscard]] virtual model::Result<Id> add_grant(const AccessGrant& g) = 0;
  // Grants of `user` for `patient` in `lab` not yet expired at `now_us`.
  [[nodiscard]] virtual model::Result<std::vector<AccessGrant>> active_grants(
      Id user, Id lab, Id patient, std::int64_t now_us) = 0;
  // Break-glass grants of a lab, oldest first; only unreviewed ones unless `all`.
  [[nodiscard]] virtual model::Result<std::vector<AccessGrant>> break_glass_grants(Id lab,
                                                                                   bool all) = 0;
  // Records a review once; kNotFound for no such (or an already reviewed) grant of the lab.
  [[nodiscard]] virtual model::Result<void> review_grant(Id lab, Id grant,
                                                         std::string_view reviewer,
                                                         std::string_view disposition,
                                                         std::int64_t now_us) = 0;
};

}  // namespace labvault::store
